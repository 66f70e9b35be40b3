"""The keys the model server sets in an ASGI request's scope, for middleware (its own and the
layers') that would otherwise wrap every message of a hot route to learn them.

- HOT: set on a request `serving.hot_path` answers directly (nothing else sends for it);
- REQUEST_ID: the request's id (bytes), which the hot path sends as `x-request-id` itself;
- TRACED: set on a hot request the edge sampling chose to trace (tracing on): the direct path
  wraps it in a server span of its own;
- DEFERRED: a list, set by a front end that writes the answer itself once the chain returns
  (`serving.http_protocol`): the hot route appends what must run after it is written (a shadow
  scoring) instead of running it before returning;
- ANSWERED: after the hot path answered, `(status, variant, version)` as strings ("none" for a
  variant or version when no model answered);
- NOT_PREDICTION: set (to the route's kind) on a hot request whose route answers something else
  than predictions (explanations): the layers' prediction metrics leave it out. Unset on the
  prediction routes, so they pay nothing for it.
"""

from __future__ import annotations

HOT = "mlops.hot_handler"
REQUEST_ID = "mlops.request_id"
TRACED = "mlops.traced"
ANSWERED = "mlops.answered"
DEFERRED = "mlops.deferred"
NOT_PREDICTION = "mlops.not_prediction"
