"""The hot-swap registry: one runtime per alias, swapped atomically, old ones released safely."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator

from anyio import to_thread

from mlops_platform.mlflow_client import bounded_client
from mlops_platform.settings import Settings
from serving.model_source import resolve
from serving.routing import ALIASES
from serving.runtimes.base import ModelLoadError, ModelRuntime
from serving.runtimes.sklearn import SklearnRuntime

log = logging.getLogger("serving.variants")

RUNTIMES: dict[str, Callable[[], ModelRuntime]] = {"sklearn": SklearnRuntime}


@dataclass
class Variant:
    alias: str
    runtime: ModelRuntime | None = None
    last_error: str | None = None

    @property
    def status(self) -> str:
        if self.runtime is not None:
            return "loaded"
        return "load_failed" if self.last_error else "not_loaded"


@dataclass(frozen=True)
class SwapResult:
    alias: str
    version: str
    previous_version: str | None
    duration_ms: float


class VariantRegistry:
    def __init__(
        self, settings: Settings, drain_timeout_s: float = 30.0, on_event: Callable[[str, dict], None] | None = None
    ):
        self._settings = settings
        self._on_event = on_event or (lambda event, payload: None)
        self._roots = [r.strip() for r in settings.model_artifact_roots.split(",") if r.strip()]
        self._new_runtime = RUNTIMES[settings.serving_backend]
        self._variants = {alias: Variant(alias) for alias in ALIASES}
        self._locks = {alias: asyncio.Lock() for alias in ALIASES}
        self._in_flight: Counter[int] = Counter()
        self._drain_timeout_s = drain_timeout_s

    def get(self, alias: str) -> Variant:
        return self._variants[alias]

    def variants(self) -> list[Variant]:
        return list(self._variants.values())

    def loaded(self) -> set[str]:
        return {v.alias for v in self._variants.values() if v.runtime is not None}

    @contextmanager
    def use(self, runtime: ModelRuntime) -> Iterator[ModelRuntime]:
        """Mark a runtime busy so a swap does not release it under a request."""
        self._in_flight[id(runtime)] += 1
        try:
            yield runtime
        finally:
            self._in_flight[id(runtime)] -= 1

    def _load(self, alias: str, version: str | None) -> ModelRuntime:
        client = bounded_client(self._settings.mlflow_tracking_uri)
        ref, artifact_uri = resolve(client, self._settings.model_name, self._roots, alias=alias)
        if version is not None and ref.version != str(version):
            raise ModelLoadError(
                f"registry says {self._settings.model_name}@{alias} is v{ref.version}, not v{version}", status=409
            )
        runtime = self._new_runtime()
        runtime.load(ref, artifact_uri)
        runtime.smoke_test()
        return runtime

    async def reload(self, alias: str, version: str | None = None) -> SwapResult:
        """Load what the registry's alias names, smoke-test it, swap it in, then release the old one.

        Any failure raises ModelLoadError and leaves the old runtime serving.
        """
        async with self._locks[alias]:
            variant = self._variants[alias]
            started = time.perf_counter()
            try:
                new = await to_thread.run_sync(self._load, alias, version)
            except ModelLoadError as exc:
                variant.last_error = str(exc)
                log.warning("reload of %s failed, keeping the current model: %s", alias, exc)
                self._on_event("reload_failed", {"alias": alias, "status": exc.status, "error": str(exc)})
                raise
            old, variant.runtime, variant.last_error = variant.runtime, new, None
            previous = old.info.ref.version if old and old.info else None
            if old is not None:
                await self._release(old)
            assert new.info is not None
            result = SwapResult(alias, new.info.ref.version, previous, (time.perf_counter() - started) * 1000)
            log.info("alias %s now serves v%s (was v%s)", alias, result.version, previous)
            self._on_event("reloaded", result.__dict__)
            return result

    async def _release(self, runtime: ModelRuntime) -> None:
        deadline = time.monotonic() + self._drain_timeout_s
        while self._in_flight[id(runtime)] > 0 and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        self._in_flight.pop(id(runtime), None)
        runtime.unload()

    async def load_all(self) -> None:
        """Start-up: load every alias the registry has; failures are recorded, not raised."""
        results = await asyncio.gather(*(self.reload(alias) for alias in ALIASES), return_exceptions=True)
        for alias, result in zip(ALIASES, results):
            if isinstance(result, BaseException) and not isinstance(result, ModelLoadError):
                self._variants[alias].last_error = f"{type(result).__name__}: {result}"
