"""The hot-swap registry's leases and reload queue, hammered from the event loop and worker threads.

The runtimes here are stand-ins that make an unloaded-model access visible (a real model would
just fail differently); the same paths run against real models in test_hot_swap.py.
"""

from __future__ import annotations

import asyncio
import threading
import time

from mlops_base.aliases import Alias
from mlops_base.settings import load_settings
from serving.columns import numeric_columns
from serving.runtimes.base import ModelRef, ModelRuntime, RuntimeInfo
from serving.variants import VariantRegistry


class CountingRuntime(ModelRuntime):
    backend = "test"

    def __init__(self, version: int):
        super().__init__()
        self.info = RuntimeInfo(ModelRef("", "m", str(version), "", ""), numeric_columns(["x"]), [[1.0]])
        self.unloads = 0
        self.used_after_unload = 0

    def load(self, ref, artifact_uri):
        pass

    def predict(self, rows):
        if self.info is None:
            self.used_after_unload += 1
        time.sleep(0.0005)
        if self.info is None:
            self.used_after_unload += 1
        return [0 for _ in rows]

    def unload(self):
        self.unloads += 1
        super().unload()


class AnySource:
    """A model source that names some version for every alias: the runtimes say which they are."""

    def resolve(self, alias):
        return ModelRef("", "m", "0", "", ""), ""


def _registry(load) -> VariantRegistry:
    """A registry whose runtimes `load(alias, version)` makes (the model source is not under test)."""
    return VariantRegistry(load_settings("dev", reload_secret_token="t"), AnySource(), lambda alias: load(alias, None))


def test_predict_shadow_and_reloads_together_never_touch_an_unloaded_model():
    created: list[CountingRuntime] = []

    def load(alias, version):
        runtime = CountingRuntime(len(created) + 1)
        created.append(runtime)
        return runtime

    registry = _registry(load)
    stop = threading.Event()

    def shadow_worker():  # shadow scoring takes its leases in worker threads
        while not stop.is_set():
            with registry.lease(Alias.B) as runtime:
                if runtime is not None:
                    runtime.predict([[1.0]])

    async def request(alias: Alias):
        with registry.lease(alias) as runtime:
            await asyncio.to_thread(runtime.predict, [[1.0]])

    async def scenario():
        await registry.load_all()
        threads = [threading.Thread(target=shadow_worker) for _ in range(3)]
        for thread in threads:
            thread.start()
        try:
            for _ in range(60):
                await asyncio.gather(
                    *(request(alias) for alias in (Alias.A, Alias.B) for _ in range(8)),
                    registry.reload(Alias.A),
                    registry.reload(Alias.B),
                )
        finally:
            stop.set()
            for thread in threads:
                thread.join()

    asyncio.run(scenario())

    assert len(created) == 2 + 120
    assert sum(r.used_after_unload for r in created) == 0
    assert registry.in_flight() == 0 and registry.retired() == 0
    served = {registry.get(alias).runtime for alias in (Alias.A, Alias.B)}
    assert all(r.unloads == (0 if r in served else 1) for r in created)  # every old model released once


def test_concurrent_reloads_of_one_alias_are_serialized_and_the_last_one_wins():
    spans: list[tuple[float, float]] = []

    def load(alias, version):
        started = time.monotonic()
        time.sleep(0.05)
        spans.append((started, time.monotonic()))
        return CountingRuntime(len(spans))

    registry = _registry(load)

    async def scenario():
        return await asyncio.gather(*(registry.reload(Alias.B) for _ in range(4)))

    results = asyncio.run(scenario())

    spans.sort()
    assert all(previous_end <= start for (_, previous_end), (start, _) in zip(spans, spans[1:], strict=False))
    assert [r.previous_version for r in results] == [None, "1", "2", "3"]
    assert registry.get(Alias.B).runtime.info.ref.version == "4"


class RefRuntime(CountingRuntime):
    """Serves whichever version it is loaded with."""

    def load(self, ref, artifact_uri):
        self.info = RuntimeInfo(ref, numeric_columns(["x"]), [[1.0]])


class VersionSource:
    """Aliases -> versions, movable by the test."""

    def __init__(self, **aliases: str):
        self.aliases = aliases

    def resolve(self, alias):
        return ModelRef("", "m", self.aliases[str(alias)], "", ""), ""


def test_aliases_on_one_version_share_its_runtime_until_neither_serves_it():
    source = VersionSource(A="1", B="1")
    made: list[RefRuntime] = []

    def new_runtime(alias):
        made.append(RefRuntime(0))
        return made[-1]

    async def scenario() -> None:
        registry = VariantRegistry(load_settings("dev", reload_secret_token="t"), source, new_runtime)
        await registry.load_all()
        a, b = registry.get(Alias.A).runtime, registry.get(Alias.B).runtime
        assert a is b and len(made) == 1  # loaded once, one batcher for both aliases' requests
        source.aliases["B"] = "2"
        await registry.reload(Alias.B)
        assert registry.get(Alias.B).runtime is not a and a.unloads == 0  # A still serves v1
        assert registry.served_version(Alias.A) == "1" and registry.served_version(Alias.B) == "2"
        source.aliases["A"] = "2"
        await registry.reload(Alias.A)
        assert registry.get(Alias.A).runtime is registry.get(Alias.B).runtime and a.unloads == 1
        assert len(made) == 2
        registry.close()
        assert [r.unloads for r in made] == [1, 1]  # the shared one released once

    asyncio.run(scenario())
