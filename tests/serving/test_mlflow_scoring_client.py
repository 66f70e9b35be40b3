"""MLflow's own scoring client against a real uvicorn model server (real MLflow registry): a client
written for `mlflow models serve` gets exactly what /predict answers, for every input form it sends."""

from __future__ import annotations

import httpx
import numpy as np
import pandas as pd
from mlflow.pyfunc.scoring_server.client import ScoringServerClient

from mlops_platform import processes
from tests.support import ROW, start_server

ROWS = [ROW, [6.7, 3.0, 5.2, 2.3], [5.9, 3.0, 4.2, 1.5]]


def test_mlflows_scoring_client_gets_what_predict_answers(mlflow_server, shared_model, tmp_path):
    env = {"MLFLOW_TRACKING_URI": mlflow_server, "MODEL_NAME": shared_model.name, "ALIAS_SELECTION_MODE": "blue_green"}
    server = start_server(tmp_path, env)  # every request to A: the answers are comparable one to one
    try:
        port = int(server.url.rsplit(":", 1)[1])
        client = ScoringServerClient("127.0.0.1", port)
        client.wait_server_ready(timeout=30)
        assert client.get_version().count(".") >= 2
        expected = httpx.post(f"{server.url}/variant/A/predict", json={"data": ROWS}).json()["predictions"]
        columns = httpx.get(f"{server.url}/models").json()["models"]["A"]["columns"]
        frame = pd.DataFrame(ROWS, columns=[c["name"] for c in columns])
        for data in (frame, np.array(ROWS), ROWS):  # dataframe_split (with its index), inputs rows, inputs rows
            answer = client.invoke(data)
            assert answer.get_predictions(predictions_format="ndarray").tolist() == expected
        csv = frame.to_csv(index=False)
        scored = httpx.post(f"{server.url}/invocations", content=csv, headers={"content-type": "text/csv"})
        assert scored.status_code == 200 and scored.json() == {"predictions": expected}
    finally:
        processes.stop(server)
