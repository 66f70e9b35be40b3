"""The replay pre-flight in real runs: a real MLflow, a real model server with the evaluation layer
keeping inputs (the churn example: numeric, categorical and boolean columns), real requests and
outcomes, `train_job` executed by Dagster, the alert posted to a real webhook.

The first release has no log: the check skips, saying why, and A moves. A candidate trained after
`region` was retyped upstream (integer codes where requests send "north"), the schema change
accepted on purpose (`accept_schema_change`), passes the holdout gate (its test split is retyped
too) and is refused on every logged request by its own signature: the check fails, nothing moves,
the alert names the cause. A candidate trained on the data as it was
passes and is released."""

from __future__ import annotations

import shutil
import uuid

import httpx
import pandas as pd
import pytest
from dagster import DagsterInstance
from mlflow import MlflowClient
from sklearn.preprocessing import OneHotEncoder

from core_assets.definitions import build_definitions
from mlops_base.settings import REPO_ROOT, load_settings
from mlops_platform import processes
from mlops_platform.release_watch import served_version, wait_for
from mlops_platform.stack import dagster_home
from tests.core_assets.runs import run_job
from tests.support import FEEDBACK_TOKEN, feedback_auth, start_server, toggle, wired_to

pytestmark = pytest.mark.real
ENV = "churn-pipeline"


def coded_regions_pipeline():
    """The team's pipeline after `region` became an integer code upstream: the codes one-hot
    encoded as they are, the rest as the churn example does (an ESTIMATOR factory)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    from model_examples.churn import churn_pipeline

    columns = churn_pipeline().named_steps["columns"]
    recoded = [(n, t, [c for c in cols if c != "region"]) for n, t, cols in columns.transformers]
    recoded.append(("region", OneHotEncoder(handle_unknown="ignore"), ["region"]))
    return Pipeline([("columns", ColumnTransformer(recoded)), ("classify", LogisticRegression(max_iter=1000))])


def _gate(result) -> tuple[bool, str]:
    [evaluation] = [
        e.event_specific_data
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION" and e.event_specific_data.check_name == "replay_gate"
    ]
    return evaluation.passed, evaluation.description


def test_a_candidate_retyped_upstream_is_stopped_before_it_sees_traffic(mlflow_server, tmp_path, monkeypatch, webhook):
    envs = tmp_path / "envs"
    shutil.copytree(REPO_ROOT / "envs", envs)
    toggle(envs / ENV, "on", "evaluation")
    name = f"churn-{uuid.uuid4().hex[:8]}"
    env = {
        "MLOPS_ENV": ENV,
        "MLOPS_ENVS_DIR": str(envs),
        "MLOPS_STATE_DIR": str(tmp_path / "state"),
        "PREDICTION_LOG_INPUTS": "all",
        "FEEDBACK_TOKEN": FEEDBACK_TOKEN,
        "SLACK_WEBHOOK_URL": webhook[0],
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)  # the runs read the same env as the server
    server = start_server(tmp_path, {"MLFLOW_TRACKING_URI": mlflow_server, "MODEL_NAME": name, **env})
    try:
        settings = wired_to(load_settings(ENV, mlflow_tracking_uri=mlflow_server, model_name=name), server.url)
        with DagsterInstance.from_config(str(dagster_home(settings))) as instance:
            first = run_job(build_definitions(settings), instance, "train_job")
            assert first.success and _gate(first)[0] and _gate(first)[1].startswith("skipped: no logged requests")
            wait_for("v1 served", lambda: served_version(server.url, "A") == "1")

            customers = pd.read_csv(envs / ENV / "customers.csv")
            inputs = customers.drop(columns="churned").head(300).astype(object)
            requests = inputs.where(inputs.notna(), None)  # a missing value is JSON null
            with httpx.Client(base_url=server.url, timeout=10) as client:
                for i in range(0, 300, 3):
                    body = {"dataframe_records": requests.iloc[i : i + 3].to_dict("records")}
                    answer = client.post("/predict", json=body)
                    assert answer.status_code == 200, answer.text
                    label = customers["churned"].iloc[i : i + 3].tolist()
                    outcome = {"prediction_id": answer.headers["x-prediction-id"], "label": label}
                    assert client.post("/feedback", json=outcome, headers=feedback_auth()).status_code == 200

            codes = {"north": 0, "south": 1, "east": 2, "west": 3}
            customers.assign(region=customers["region"].map(codes)).to_csv(tmp_path / "retyped.csv", index=False)
            retyped = {"dataset": str(tmp_path / "retyped.csv"), "estimator": f"{__name__}:coded_regions_pipeline"}
            candidate = run_job(  # the schema change accepted on purpose: the requests still send names
                build_definitions(settings.model_copy(update={**retyped, "estimator_params": {}})),
                instance,
                "train_job",
                {"ops": {"features": {"config": {"accept_schema_change": True}}}},
            )
            passed, why = _gate(candidate)
            assert not passed and "v2 failed on 300 of 300 logged rows" in why and "300 refused by its signature" in why
            assert "Failed to convert column region" in why and "north" not in why  # no logged row quoted
            assert not candidate.success  # served_alias did not run: nothing moved
            assert MlflowClient(mlflow_server).get_registered_model(name).aliases == {"A": "1"}
            assert served_version(server.url, "A") == "1"
            [alert] = [m["text"] for m in webhook[1] if "replay" in m["text"]]
            assert "version=2" in alert and "region" in alert

            back = {"ops": {"features": {"config": {"accept_schema_change": True}}}}  # v2 was registered
            same = run_job(build_definitions(settings), instance, "train_job", back)
            passed, why = _gate(same)
            assert same.success and passed, why
            assert "v3 answered 300 of 300 logged rows" in why and "accuracy on 300 labelled rows" in why
            wait_for("v3 served", lambda: served_version(server.url, "A") == "3")
    finally:
        processes.stop(server)
