"""Fakes for the fast tier (after MLServer's test fixtures): a model source that needs no registry
and runtimes that need no artifacts, injected into `create_app` where the real ones go.

Fakes never replace the real-process test of the same behaviour: the same paths run against a real
`mlflow server` and real models in the tests that take `mlflow_server`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pandas as pd
from fastapi.testclient import TestClient

from layer_api.manager import LayerManager
from mlops_base.registry_rest import RegisteredModel
from mlops_base.settings import Settings, load_settings
from serving.columns import Column, numeric_columns
from serving.main import create_app
from serving.runtimes.base import ModelLoadError, ModelRef, ModelRuntime, RuntimeInfo
from tests.support import FEEDBACK_TOKEN, TOKEN, serving_client

FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


class SumModel(ModelRuntime):
    """Predicts each row's sum times its version, so an answer tells which version gave it."""

    backend = "sklearn"

    def load(self, ref: ModelRef, artifact_uri: str) -> None:
        self.info = RuntimeInfo(ref, numeric_columns(FEATURES), np.ones((2, len(FEATURES))))

    def predict(self, rows: np.ndarray) -> np.ndarray:
        assert self.info is not None, "predict on an unloaded model"
        return rows.sum(axis=1) * int(self.info.ref.version)


class ErrorModel(SumModel):
    """Artifacts that do not load (a corrupt file)."""

    def load(self, ref: ModelRef, artifact_uri: str) -> None:
        raise ModelLoadError(f"cannot load {ref.model_name} v{ref.version}: UnpicklingError: corrupt on purpose")


class BrokenModel(SumModel):
    """Loads, but every prediction fails: its smoke test refuses it."""

    def predict(self, rows: np.ndarray) -> np.ndarray:
        raise RuntimeError("this model is broken")


class SlowModel(SumModel):
    """Takes `delay_s` per predict call (a request that outlives a swap)."""

    delay_s = 0.2

    def predict(self, rows: np.ndarray) -> np.ndarray:
        time.sleep(self.delay_s)
        return super().predict(rows)


class TableModel(SumModel):
    """A named-column classifier (a pipeline's inputs): churns ("yes") when the plan is basic and
    autopay is not on; probabilities [no, yes]."""

    COLUMNS = [Column("plan", "string", True), Column("tenure", "number", False), Column("autopay", "boolean", False)]

    def load(self, ref: ModelRef, artifact_uri: str) -> None:
        example = pd.DataFrame({"plan": ["basic"], "tenure": [3.0], "autopay": np.array([True], dtype=object)})
        self.info = RuntimeInfo(ref, self.COLUMNS, example, positional=False, classes=["no", "yes"])

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        assert isinstance(frame, pd.DataFrame) and list(frame.columns) == ["plan", "tenure", "autopay"]
        churns = (frame["plan"] == "basic") & (frame["autopay"] != True)  # noqa: E712 (NaN is not True)
        return np.where(churns, "yes", "no")

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        yes = (self.predict(frame) == "yes").astype(float) * 0.8 + 0.1
        return np.column_stack([1 - yes, yes])[:, ::1]


class FakeRegistry:
    """A model source: aliases -> versions, and which fake each version is (SumModel by default).

    `down` makes it unreachable (503), as a dead MLflow; `resolved` counts the lookups; `tags` are
    the registered model's (the ramp's step)."""

    def __init__(self, aliases: dict[str, str] | None = None, model_name: str = "fake-model"):
        self.model_name = model_name
        self.aliases = dict({"A": "1", "B": "2"} if aliases is None else aliases)
        self.kinds: dict[str, type[SumModel]] = {}
        self.tags: dict[str, str] = {}
        self.down = False
        self.resolved = 0

    def resolve(self, alias: str) -> tuple[ModelRef, str]:
        self.resolved += 1
        label = f"{self.model_name}@{alias}"
        if self.down:
            raise ModelLoadError(f"registry unreachable while resolving {label}", status=503)
        version = self.aliases.get(str(alias))
        if version is None:
            raise ModelLoadError(f"{label} not found in the registry: alias not set", status=404)
        uri = f"fake://{self.model_name}/{version}"
        return ModelRef("fake://registry", self.model_name, version, f"run-{version}", uri), uri

    def watched(self) -> RegisteredModel:
        if self.down:
            raise ModelLoadError("registry unreachable while listing aliases", status=503)
        return RegisteredModel(dict(self.aliases), dict(self.tags))

    def new_runtime(self, alias: str) -> ModelRuntime:
        """The fake of the version the alias names now."""
        return self.kinds.get(self.aliases.get(str(alias), ""), SumModel)()


def fake_settings(**overrides) -> Settings:
    """The dev env's settings on the fake registry; the alias watch off unless a test turns it on,
    so that what a test moves in the registry reaches the server only when the test says."""
    return load_settings(
        "dev",
        **{
            "model_name": "fake-model",
            "reload_secret_token": TOKEN,
            "feedback_token": FEEDBACK_TOKEN,
            "alias_poll_seconds": 0,
            **overrides,
        },
    )


@contextmanager
def fake_server(
    registry: FakeRegistry | None = None, layers: frozenset[str] = frozenset(), **overrides
) -> Iterator[tuple[TestClient, FakeRegistry]]:
    """The real app on a fake registry and fake models, its start-up load done; every layer off
    but those named in `layers`."""
    registry = registry or FakeRegistry()
    settings = fake_settings(**overrides)
    app = create_app(settings, LayerManager(settings, set(layers)), registry, registry.new_runtime)
    with serving_client(app, raise_server_exceptions=False) as client:  # a 500 must show as one
        yield client, registry
