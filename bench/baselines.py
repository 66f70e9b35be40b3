"""B0 and B1, the bare FastAPI endpoints the model server is measured against.

B0 parses the same JSON into the same kind of pydantic body and returns a constant: the cost of
HTTP and JSON alone. B1 adds what a user would write first: `model.predict` on the rows, in
process, on the same model file. Both run under the same uvicorn as the model server.

    uvicorn --factory bench.baselines:create_b0     (B1: create_b1, BENCH_MODEL_PATH=model.joblib)
"""

from __future__ import annotations

import os

import joblib
import numpy as np
from fastapi import FastAPI
from pydantic import BaseModel


class Body(BaseModel):
    data: list[list[float]]


def create_b0() -> FastAPI:
    app = FastAPI()

    @app.get("/health")
    async def health() -> dict:
        return {"ok": True}

    @app.post("/predict")
    async def predict(body: Body) -> dict:
        return {"predictions": [0]}

    return app


def create_b1() -> FastAPI:
    app = FastAPI()
    model = joblib.load(os.environ["BENCH_MODEL_PATH"])

    @app.get("/health")
    async def health() -> dict:
        return {"ok": True}

    @app.post("/predict")
    async def predict(body: Body) -> dict:
        return {"predictions": model.predict(np.asarray(body.data)).tolist()}

    return app
