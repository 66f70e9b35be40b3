"""`./mlops score FILE` as a user runs it, from a folder of their own with a relative path: the
`batch_predictions` asset runs (in the env's Dagster instance, not over HTTP) against a real MLflow
registry, writes the predictions where `--out` says, and says where; a file the model cannot take
fails saying why in one line."""

from __future__ import annotations

import os
import subprocess
import uuid

import pyarrow.parquet as pq
import pytest

from mlops_base.settings import REPO_ROOT
from tests.churn import ENV, register_churn

pytestmark = pytest.mark.real


def _score(tmp_path, name: str, mlflow_server: str, *args: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": mlflow_server,
        "MODEL_NAME": name,
        "MLOPS_STATE_DIR": str(tmp_path / "state"),
    }
    env.pop("MLOPS_CALLER_DIR", None)
    command = [str(REPO_ROOT / "mlops"), "score", *args, "--env", ENV]
    return subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False)


def test_a_file_is_scored_by_the_asset_and_a_file_it_cannot_take_says_why(mlflow_server, tmp_path):
    name = f"churn-cli-{uuid.uuid4().hex[:8]}"
    [version], customers = register_churn(mlflow_server, name)
    customers.head(300).to_csv(tmp_path / "customers.csv", index=False)

    done = _score(
        tmp_path, name, mlflow_server, "customers.csv", "--out", "scored.parquet", "--partition", "2026-12-01"
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"with v{version}, pinned for the whole partition" in done.stdout
    assert "300 rows scored, 0 refused" in done.stdout
    assert f"predictions: {tmp_path / 'scored.parquet'}" in done.stdout
    scored = pq.read_table(tmp_path / "scored.parquet")
    assert scored.num_rows == 300 and set(scored.column("model_version").to_pylist()) == {version}

    customers.head(10).assign(colour="red").to_csv(tmp_path / "odd.csv", index=False)
    refused = _score(tmp_path, name, mlflow_server, "odd.csv", "--partition", "2026-12-01")
    assert refused.returncode != 0
    assert "why: partition 2026-12-01: nothing scored: unknown column 'colour'" in refused.stdout
    assert "Traceback" not in refused.stdout
