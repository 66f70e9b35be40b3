"""A layer's batch observer sees every model call that answered, once per call, with the version
and the rows it scored; one that raises costs the client nothing."""

from __future__ import annotations

import numpy as np

from layer_api import ScoredBatch, hookimpl
from layer_api.manager import LayerManager
from serving.main import create_app
from tests.fakes import FEATURES, FakeRegistry, fake_settings
from tests.support import ROW, serving_client


class Observer:
    def __init__(self, fail: bool = False):
        self.batches: list[ScoredBatch] = []
        self.fail = fail

    @hookimpl
    def mlops_batch_observer(self):
        def observe(batch: ScoredBatch) -> None:
            self.batches.append(batch)
            if self.fail:
                raise RuntimeError("observer broke its contract")

        return observe


def _server(*observers: Observer):
    settings = fake_settings()
    layers = LayerManager(settings, set())
    for observer in observers:
        layers.pm.register(observer)
    registry = FakeRegistry()
    return serving_client(create_app(settings, layers, registry, registry.new_runtime))


def test_each_answered_call_is_observed_with_its_version_rows_and_predictions():
    observer, broken = Observer(), Observer(fail=True)
    with _server(broken, observer) as client:
        one = client.post("/variant/A/predict", json={"data": [ROW]})
        three = client.post("/variant/B/predict", json={"data": [ROW, [1, 2, 3, 4], [0, 0, 0, 1]]})
        refused = client.post("/variant/A/predict", json={"data": [[1, 2]]})
    assert one.status_code == three.status_code == 200, (one.text, three.text)
    assert refused.status_code == 422
    assert [(b.version, len(b.rows)) for b in observer.batches] == [("1", 1), ("2", 3)]
    assert len(broken.batches) == 2  # called, raised, and both requests were answered all the same
    batch = observer.batches[1]
    assert batch.model_name == "fake-model" and list(batch.columns) == FEATURES
    np.testing.assert_array_equal(np.asarray(batch.rows)[1], [1, 2, 3, 4])
    assert list(np.asarray(batch.predictions)) == three.json()["predictions"]
