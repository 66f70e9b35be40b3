"""Each replica converges on the registry's aliases by itself: a replica that started late, restarted
or missed a push, and an alias moved by any client (the MLflow UI included), all reach it within
one interval plus the load time. The push `/reload` stays the fast path.

One registry call per interval lists every alias and the model's tags (the ramp's step, handed to
the data plane's routing). The watch never unloads: a registry that cannot
answer (the interval then backs off), an alias removed, or a version that fails to load all leave
the served model serving. Reloads queue behind pushes on the alias's lock and load only what the
registry names at that moment, so the two never race.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from anyio import to_thread

from mlops_base.aliases import ALIASES, Alias
from serving.model_source import ModelSource
from serving.runtimes.base import ModelLoadError
from serving.variants import VariantRegistry

log = logging.getLogger("serving.alias_watch")

MAX_BACKOFF_S = 10.0  # the longest wait between tries while the registry is down
FAILED_RETRY_S = 30.0  # a version that failed to load here (pushed or watched) is retried after this


@dataclass
class AliasCheck:
    """The watch's last word on one alias."""

    checked_at: float | None = None  # wall time of the last answer from the registry
    registry_version: str | None = None
    error: str | None = None


class AliasWatch:
    def __init__(
        self,
        interval_s: float,
        source: ModelSource,
        variants: VariantRegistry,
        clock=time.time,
        on_tags: Callable[[dict[str, str]], None] = lambda tags: None,
    ):
        self.interval_s = interval_s
        self._source = source
        self._variants = variants
        self._clock = clock
        self._on_tags = on_tags  # gets the registered model's tags from each answer (the ramp's step)
        self.checks = {alias: AliasCheck() for alias in ALIASES}
        self.failures = 0  # registry calls failed in a row

    def delay_s(self) -> float:
        """The interval, doubled for each failed call in a row, up to MAX_BACKOFF_S (or the interval)."""
        return min(self.interval_s * 2**self.failures, max(MAX_BACKOFF_S, self.interval_s))

    async def run(self) -> None:
        """Check until cancelled, first once the start-up load is over."""
        if self._variants.loading is not None:
            await asyncio.wait({self._variants.loading})
        while True:
            await asyncio.sleep(self.delay_s())
            try:
                await self.check()
            except Exception as exc:  # the watch outlives any one bad answer; it is counted as failed
                log.exception("alias watch check failed")
                self.failures += 1
                for check in self.checks.values():
                    check.error = f"{type(exc).__name__}: {exc}"

    async def read_tags_then(self, load: Awaitable[None]) -> None:
        """The model's tags once (the ramp's step), then `load` (the start-up load); a registry that
        does not answer delays nothing: the watch's checks read them later."""
        try:
            self._on_tags((await to_thread.run_sync(self._source.watched)).tags)
        except Exception as exc:  # the load goes on whatever the registry answers
            log.warning("the model's tags not read at start-up (the alias watch reads them next): %s", exc)
        await load

    async def check(self) -> None:
        """Ask the registry once; reload each alias it names a version for that is not served here."""
        try:
            watched = await to_thread.run_sync(self._source.watched)
        except ModelLoadError as exc:
            if not self.failures:
                log.warning("registry did not answer the alias watch (backing off, still serving): %s", exc)
            self.failures += 1
            for check in self.checks.values():
                check.error = str(exc)
            return
        if self.failures:
            log.info("registry answers the alias watch again after %d failed calls", self.failures)
        self.failures = 0
        self._on_tags(watched.tags)
        versions, now = watched.aliases, self._clock()
        for alias in ALIASES:
            version, before = versions.get(str(alias)), self.checks[alias]
            pending = version is not None and version != self._variants.served_version(alias)
            # a version still not served keeps the reason it failed until it loads
            self.checks[alias] = AliasCheck(
                now, version, before.error if pending and before.registry_version == version else None
            )
            if pending:
                await self._converge(alias, version)

    async def _converge(self, alias: Alias, version: str) -> None:
        try:
            result = await self._variants.converge(alias, version, FAILED_RETRY_S)
        except ModelLoadError as exc:  # 409: the alias moved again (or is not READY yet): next interval
            self.checks[alias].error = str(exc)
            return
        if result is not None:
            log.info(
                "alias watch: %s now serves v%s, as the registry says (was v%s)",
                alias,
                result.version,
                result.previous_version,
                extra={"alias": str(alias), "version": result.version},
            )
