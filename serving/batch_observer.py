"""A layer's batch observer (`mlops_batch_observer`) on a runtime's predict: each model call that
answered is handed over once (a micro-batch of requests, or one large request), never per request."""

from __future__ import annotations

import logging
from collections.abc import Callable

from layer_api import ScoredBatch
from serving.batching import PredictAsync
from serving.runtimes.base import ModelInput, ModelRuntime

log = logging.getLogger("serving.batch_observer")


def observed(runtime: ModelRuntime, observe: Callable[[ScoredBatch], None]) -> PredictAsync:
    """The runtime's predict, handing each call that answered to `observe` (once per micro-batch,
    not per request); what the observer raises is logged, never the caller's error."""
    ref, columns, predict = runtime.info.ref, runtime.info.feature_names, runtime.predict_async

    async def predict_observed(x: ModelInput):
        predictions = await predict(x)
        try:
            observe(ScoredBatch(ref.model_name, ref.version, x, columns, predictions))
        except Exception:
            log.exception("a layer failed to observe a batch of v%s", ref.version)
        return predictions

    return predict_observed
