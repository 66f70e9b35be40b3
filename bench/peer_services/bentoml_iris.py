"""The iris estimator as a BentoML 1.4 service: `bentoml serve bentoml_iris:Iris` in BentoML's venv.

BENCH_MODEL_PATH: the joblib file every peer loads. BENCH_BATCHING=1: the API is batchable
(BentoML's adaptive batching; requests of any number of rows joined along axis 0)."""

from __future__ import annotations

import os

import bentoml
import joblib
import numpy as np

BATCHING = os.environ.get("BENCH_BATCHING") == "1"


@bentoml.service(workers=1)
class Iris:
    def __init__(self) -> None:
        self.model = joblib.load(os.environ["BENCH_MODEL_PATH"])

    @bentoml.api(batchable=BATCHING, batch_dim=0, max_batch_size=1_000, max_latency_ms=100)
    def predict(self, data: np.ndarray) -> np.ndarray:
        return self.model.predict(data)
