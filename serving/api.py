"""The model server's public API for optional layers: what a layer's serving hooks may use.

Layers import this module only (an import-linter contract protects the rest of `serving`), so the
server may reshape its private modules without breaking them:

- `ServedView`: a typed, read-only view of what the server serves (versions, loaded aliases,
  requests in flight, which paths score), handed to `mlops_serving_startup`;
- `Protocol`, `HotRoute`: the declaration of a layer's routes (`mlops_serving_protocols`);
- `HOT`, `ANSWERED`, `NOT_PREDICTION`: scope keys the hot path sets (see `serving.scope_keys`), for
  middleware;
- `DirectHook`: the base class of a layer's middleware that is called (`enter`, `leave`) around
  scoring requests on the direct path instead of wrapping them;
- `credential(scope)`: the dependency that admits a request carrying that scope's credential and
  gives the credential's name (e.g. the source of fed-back outcomes); `credential_responses(scope)`
  the statuses it answers, for the route's OpenAPI.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from typing import Protocol as TypingProtocol

from mlops_base.aliases import Alias
from serving.dependencies import credential, credential_responses
from serving.direct_hook import DirectHook
from serving.protocol import HotRoute, Protocol
from serving.scope_keys import ANSWERED, HOT, NOT_PREDICTION


class ServedView(TypingProtocol):
    """What the server serves now; before its models load, nothing."""

    def versions(self) -> Mapping[Alias, str | None]:
        """Per alias: the registry version it serves (None: no model loaded)."""
        ...

    def loaded(self) -> Mapping[Alias, bool]:
        """Per alias: whether a model is loaded."""
        ...

    def in_flight(self) -> int:
        """Prediction requests and shadow scorings using a model now."""
        ...

    def scores(self, path: str) -> bool:
        """Whether a request to `path` is a prediction (any protocol's hot prediction route)."""
        ...

    def ramp(self) -> Mapping[str, Any] | None:
        """ALIAS_SELECTION_MODE=ramp: what `GET /ramp` answers (B's share, step, the last decision);
        None in the other modes."""
        ...

    def registry_failures(self) -> int:
        """The alias watch's registry calls failed in a row (0: the registry answered last time)."""
        ...


__all__ = [
    "ANSWERED",
    "HOT",
    "NOT_PREDICTION",
    "DirectHook",
    "HotRoute",
    "Protocol",
    "ServedView",
    "credential",
    "credential_responses",
]
