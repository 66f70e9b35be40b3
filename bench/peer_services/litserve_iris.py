"""The iris estimator as a LitServe API: `python litserve_iris.py PORT` in LitServe's venv.

BENCH_MODEL_PATH: the joblib file every peer loads. BENCH_MAX_BATCH > 1: LitServe's batching
(requests of any number of rows joined into one predict call, then split back)."""

from __future__ import annotations

import os
import sys

import joblib
import litserve as ls
import numpy as np

MAX_BATCH = int(os.environ.get("BENCH_MAX_BATCH", "1"))


class IrisAPI(ls.LitAPI):
    def setup(self, device) -> None:
        self.model = joblib.load(os.environ["BENCH_MODEL_PATH"])

    def decode_request(self, request: dict) -> np.ndarray:
        return np.asarray(request["data"], dtype=np.float64)

    def batch(self, inputs: list[np.ndarray]) -> tuple[np.ndarray, list[int]]:
        return np.concatenate(inputs), [len(rows) for rows in inputs]

    def predict(self, x):
        if isinstance(x, tuple):  # a batch: one call, split back per request
            rows, sizes = x
            return np.split(self.model.predict(rows), np.cumsum(sizes)[:-1])
        return self.model.predict(x)

    def unbatch(self, output: list[np.ndarray]) -> list[np.ndarray]:
        return output

    def encode_response(self, output: np.ndarray) -> dict:
        return {"predictions": output.tolist()}


if __name__ == "__main__":
    batching = {"max_batch_size": MAX_BATCH, "batch_timeout": 0.001} if MAX_BATCH > 1 else {}
    server = ls.LitServer(IrisAPI(**batching), accelerator="cpu")
    server.run(host="127.0.0.1", port=int(sys.argv[1]), generate_client_file=False)
