"""The demo's drift scene: the platform restarted with the drift layer on and AUTO_RETRAIN, then
traffic like the training data (nothing happens), then traffic whose petal length reads one
standard deviation longer (a recalibrated sensor; the true classes are the unshifted rows'), its
outcomes fed back: the drift is confirmed, and the drift sensor trains on the dataset plus that
labelled traffic, the gate judges it against the champion, and it is released as challenger B."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import httpx
import numpy as np
import pandas as pd

from core_assets.lib.data import builtin_features
from demo.experiment import set_env_settings
from mlops_platform import layer_toggle
from mlops_platform.release_watch import served_version, wait_for

DRIFT_SETTINGS = {"AUTO_RETRAIN": "true", "PREDICTION_LOG_INPUTS": "all"}
SHIFTED = "petal length (cm)"
UNCHANGED_ROWS, SHIFTED_ROWS, PER_REQUEST = 5_000, 2_000, 50
QUIET_S = 40  # longer than a tick of the drift sensors (30 s): time to start a run, if they would


def env_with_drift(env_dir: Path) -> None:
    """The demo env's copy with the drift layer on, retraining on drift, every input logged."""
    set_env_settings(env_dir, DRIFT_SETTINGS)
    layer_toggle.apply(layer_toggle.plan(env_dir, "on", "drift"))


def _iris() -> tuple[pd.DataFrame, np.ndarray]:
    features = builtin_features()
    return pd.concat([features.x_train, features.x_test]), np.concatenate([features.y_train, features.y_test])


def _send(client: httpx.Client, rows: np.ndarray, labels: np.ndarray | None, credential: dict[str, str]) -> None:
    outcomes = []
    for part in np.array_split(np.arange(len(rows)), len(rows) // PER_REQUEST):
        answer = client.post("/variant/A/predict", json={"data": rows[part].tolist()})
        answer.raise_for_status()
        if labels is not None:
            outcomes.append({"prediction_id": answer.headers["x-prediction-id"], "label": labels[part].tolist()})
    if outcomes:
        client.post("/feedback", json=outcomes, headers=credential).raise_for_status()


def _drift_runs(dag) -> list[dict]:
    return [r for r in dag.runs("train_job") if {"key": "mlops/trigger", "value": "drift"} in r["tags"]]


def run_drift_scene(server_url: str, dag, reload_token: str, feedback_credential: str, say: Callable[[str], None]):
    """Returns the seconds from the confirmed drift to the retrained version served as B."""
    frame, truth = _iris()
    columns, values = list(frame.columns), frame.to_numpy()
    rng = np.random.default_rng(0)
    operator = {"Authorization": f"Bearer {reload_token}"}
    labelling = {"Authorization": f"Bearer {feedback_credential}"}
    with httpx.Client(base_url=server_url, timeout=30) as client:
        _send(client, values[rng.integers(0, len(values), UNCHANGED_ROWS)], None, labelling)
        time.sleep(QUIET_S)
        [champion] = [v for v in client.get("/drift", headers=operator).json()["versions"] if "A" in v["aliases"]]
        say(
            f"drift: {champion['rows']:,} rows like the training data on A=v{champion['version']}: "
            f"{champion['status']}, {len(_drift_runs(dag))} drift runs after {QUIET_S}s"
        )
        before_b = served_version(server_url, "B")
        drawn = rng.integers(0, len(values), SHIFTED_ROWS)
        shifted = values[drawn].copy()
        shifted[:, columns.index(SHIFTED)] += frame[SHIFTED].std()
        _send(client, shifted, truth[drawn], labelling)

        def confirmed() -> bool:
            state = client.get("/drift", headers=operator).json()
            return any(v["status"] == "drift" for v in state["versions"])

        wait_for("the drift tests to confirm the shift", confirmed, timeout_s=30)
        alarmed = time.monotonic()
        [champion] = [v for v in client.get("/drift", headers=operator).json()["versions"] if "A" in v["aliases"]]
        first = min(c["alarmed_at_row"] for c in champion["columns"] if c["alarmed_at_row"] is not None)
        say(
            f"drift: {SHIFTED} +1 sd on {SHIFTED_ROWS:,} rows with their outcomes: drift confirmed in "
            f"{', '.join(champion['drifted'])} at the look after {first - UNCHANGED_ROWS:,} of them"
        )
        wait_for("the drift retrain's release", lambda: served_version(server_url, "B") != before_b, timeout_s=120)
        released_after = time.monotonic() - alarmed
        [run, *_] = _drift_runs(dag)
        say(
            f"drift: retrained (train_job run {run['runId'][:8]}, trigger drift), gated and served as "
            f"B=v{served_version(server_url, 'B')} {released_after:.1f}s after the alarm"
        )
        return released_after
