"""Which runtime serves an alias: its backend's, as the env names it (`SERVING_BACKEND`,
`SERVING_BACKEND_BY_ALIAS`)."""

from __future__ import annotations

from collections.abc import Callable

from mlops_base.aliases import Alias
from mlops_base.settings import Backend, Settings
from serving.runtimes.base import ModelRuntime
from serving.runtimes.in_process import InProcessRuntime


def _triton(settings: Settings) -> ModelRuntime:
    """Imported on first use: a server without a Triton variant never loads tritonclient (16 MB)."""
    from serving.runtimes.triton import TritonRuntime

    return TritonRuntime(settings)


RUNTIMES: dict[Backend, Callable[[Settings], ModelRuntime]] = {"sklearn": InProcessRuntime, "triton": _triton}
# a new, empty runtime for an alias (its backend's): what the registry hands each load
RuntimeFactory = Callable[[Alias], ModelRuntime]


def runtime_factory(settings: Settings) -> RuntimeFactory:
    """Each alias's runtimes of the backend the env names for it."""
    return lambda alias: RUNTIMES[settings.backend_of(alias)](settings)
