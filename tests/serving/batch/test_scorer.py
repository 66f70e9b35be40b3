"""The batch scorer for real: a real MLflow registry, the churn example's pipeline (numeric,
categorical and boolean columns) trained and registered by the platform's own functions, the
scorer run as the asset runs it (`python -m serving.batch`, two worker processes), and a real
model server answering /predict beside it.

1,000 rows score exactly as /predict answers them (predictions and class probabilities); rows
the server would refuse are in the rejects file with the reason; the same input and version write
the same bytes; a CSV of the same rows scores the same; a file whose columns are not the model's
scores nothing and says why."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from mlops_platform import processes
from tests.churn import ENV, register_churn
from tests.support import start_server

pytestmark = pytest.mark.real


@pytest.fixture(scope="module")
def churn(mlflow_server) -> tuple[str, str, pd.DataFrame]:
    """The churn example registered as a model of this module's own: its name, version, customers."""
    name = f"churn-batch-{uuid.uuid4().hex[:8]}"
    [version], customers = register_churn(mlflow_server, name)
    return name, version, customers


def _score(mlflow_server, tmp_path, name, version, source: Path, out: str = "out", workers: int = 2):
    env = {
        "PATH": "/usr/bin:/bin",
        "MLOPS_ENV": ENV,
        "MLFLOW_TRACKING_URI": mlflow_server,
        "MODEL_NAME": name,
        "MLOPS_STATE_DIR": str(tmp_path / "state"),
    }
    command = [
        sys.executable, "-m", "serving.batch", "--version", version, "--input", str(source),
        "--output", str(tmp_path / f"{out}.parquet"), "--rejects", str(tmp_path / f"{out}.rejects.parquet"),
        "--chunk-rows", "300", "--workers", str(workers),
    ]  # fmt: skip
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, check=False)


def test_a_thousand_rows_score_exactly_as_predict_answers_and_refused_rows_say_why(mlflow_server, churn, tmp_path):
    name, version, customers = churn
    rows = customers.head(1_000).reset_index(drop=True)
    broken = rows.copy().astype({"support_calls": object, "region": object})
    broken.loc[3, "support_calls"] = None  # required: the training data had none missing
    broken.loc[5, "region"] = None
    broken.loc[8, "support_calls"] = float("inf")
    source = tmp_path / "customers.parquet"
    broken.to_parquet(source)

    done = _score(mlflow_server, tmp_path, name, version, source)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    scored = pq.read_table(tmp_path / "out.parquet").to_pandas()
    refused = pq.read_table(tmp_path / "out.rejects.parquet").to_pylist()
    assert (summary["rows"], summary["scored"], summary["rejected"]) == (1_000, len(scored), len(refused))
    assert [r["row"] for r in refused] == [3, 5, 8]
    assert all(r["reason"].startswith(f"row {r['row']}: ") for r in refused)
    kept = [i for i in range(1_000) if i not in {r["row"] for r in refused}]
    assert scored[["model_name", "model_version"]].drop_duplicates().values.tolist() == [[name, version]]

    server = start_server(tmp_path, {"MLFLOW_TRACKING_URI": mlflow_server, "MODEL_NAME": name, "MLOPS_ENV": ENV})
    try:
        sent = broken.loc[kept].astype(object).where(pd.notna(broken.loc[kept]), None)
        body = {"dataframe_split": {"columns": list(sent.columns), "data": sent.values.tolist()}, "return_proba": True}
        answer = httpx.post(f"{server.url}/variant/A/predict", json=body, timeout=60).json()
        for i in (3, 5):  # the server refuses each refused row alone, for that reason (JSON has no inf: row 8)
            one = {"dataframe_split": {"columns": list(sent.columns), "data": [broken.astype(object).loc[i].tolist()]}}
            refusal = httpx.post(f"{server.url}/variant/A/predict", json=one, timeout=60)
            reason = next(r["reason"] for r in refused if r["row"] == i)
            assert refusal.status_code == 422 and refusal.json()["detail"].split(": ", 1)[1] == reason.split(": ", 1)[1]
    finally:
        processes.stop(server)
    assert answer["version"] == version
    assert scored["prediction"].tolist() == answer["predictions"]  # exactly
    for j, label in enumerate(answer["classes"]):
        assert scored[f"probability_{label}"].tolist() == [p[j] for p in answer["probabilities"]]


def test_the_same_input_and_version_write_the_same_bytes_and_a_csv_scores_the_same(mlflow_server, churn, tmp_path):
    name, version, customers = churn
    source = tmp_path / "customers.parquet"
    customers.to_parquet(source)
    first = _score(mlflow_server, tmp_path, name, version, source, "first")
    again = _score(mlflow_server, tmp_path, name, version, source, "again", workers=1)
    assert first.returncode == again.returncode == 0, (first.stderr, again.stderr)
    assert json.loads(first.stdout)["output_sha256"] == json.loads(again.stdout)["output_sha256"]
    assert (tmp_path / "first.parquet").read_bytes() == (tmp_path / "again.parquet").read_bytes()

    text = tmp_path / "customers.csv"
    customers.to_csv(text, index=False)
    from_csv = _score(mlflow_server, tmp_path, name, version, text, "csv")
    assert from_csv.returncode == 0, from_csv.stderr
    a, b = pq.read_table(tmp_path / "first.parquet").to_pandas(), pq.read_table(tmp_path / "csv.parquet").to_pandas()
    assert a["prediction"].tolist() == b["prediction"].tolist()
    assert np.allclose(a.filter(like="probability_"), b.filter(like="probability_"), rtol=0, atol=1e-12)


def test_a_file_whose_columns_are_not_the_model_s_scores_nothing_and_says_why(mlflow_server, churn, tmp_path):
    name, version, customers = churn
    source = tmp_path / "customers.parquet"
    customers.rename(columns={"plan": "tier"}).to_parquet(source)
    done = _score(mlflow_server, tmp_path, name, version, source)
    assert done.returncode == 2
    assert done.stderr.strip().startswith("nothing scored: unknown column 'tier'"), done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "out.parquet").exists()
