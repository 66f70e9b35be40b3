"""The example envs, end to end with real processes, as a user runs them: the env's own model server
(uvicorn), real Dagster runs (`./mlops materialize`, in the env's instance) on the session's MLflow
server. First release: materialize -> gate -> register -> alias A served -> named-column
predictions. Second release with a deliberately worse parameter: the champion gate refuses it,
nothing is registered and the champion keeps serving. Last: a team's env written outside the
repository (MLOPS_ENVS_DIR, its trainer on PYTHONPATH), and a dataset whose columns changed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import httpx
import pandas as pd
import pytest
from dagster import DagsterEventType, DagsterInstance

from mlops_base.mlflow_client import bounded_client
from mlops_base.settings import Settings, load_settings
from mlops_platform import local_storage, processes, stack
from mlops_platform.verbs.materialize import materialize
from tests.support import start_model_server

pytestmark = [pytest.mark.real, pytest.mark.slow]  # MLflow, uvicorn, Dagster runs


@dataclass(frozen=True)
class Example:
    env: str
    worse_params: dict
    records: list[dict]  # a request body's dataframe_records


EXAMPLES = [
    Example(
        "diabetes-regression",
        {"max_iter": 3},
        [
            {
                "age": 0.04,
                "sex": 0.05,
                "bmi": 0.06,
                "bp": 0.02,
                "s1": -0.04,
                "s2": -0.03,
                "s3": -0.04,
                "s4": 0.0,
                "s5": 0.02,
                "s6": -0.02,
            }
        ],
    ),
    Example(
        "churn-pipeline",
        {"C": 0.0001},
        [
            {
                "tenure_months": 3.0,
                "monthly_charges": 99.5,
                "support_calls": 4.0,
                "plan": "basic",
                "region": "north",
                "autopay": False,
            },
            {
                "tenure_months": None,
                "monthly_charges": 40.0,
                "support_calls": 0.0,
                "plan": None,
                "region": "east",
                "autopay": None,
            },
        ],
    ),
    Example("lightgbm-breast-cancer", {"n_estimators": 2, "learning_rate": 0.01}, []),  # rows of the dataset
]


def _breast_cancer_records() -> list[dict]:
    from sklearn.datasets import load_breast_cancer

    frame = load_breast_cancer(as_frame=True).frame.drop(columns=["target"])
    return [{name: float(value) for name, value in row.items()} for _, row in frame.iloc[[0, 19]].iterrows()]


@dataclass
class EnvUnderTest:
    settings: Settings
    server: processes.Service

    def release(self, monkeypatch: pytest.MonkeyPatch, **variables: str) -> int:
        """`./mlops materialize` of the whole graph, with these settings overridden for the run."""
        for name, value in variables.items():
            monkeypatch.setenv(name, value)
        try:
            return materialize(self.settings, "*")
        finally:
            for name in variables:
                monkeypatch.delenv(name)

    def served(self, alias: str = "A") -> str | None:
        return httpx.get(f"{self.server.url}/models", timeout=10).json()["models"][alias]["version"]

    def versions(self) -> list[str]:
        client = bounded_client(self.settings.mlflow_tracking_uri)
        return sorted(v.version for v in client.search_model_versions(f"name='{self.settings.model_name}'"))

    def predict(self, body: dict) -> httpx.Response:
        return httpx.post(f"{self.server.url}/predict", json=body, timeout=30)

    def last_gate(self):
        """The quality gate's evaluation in the instance's newest run."""
        instance = DagsterInstance.from_config(str(stack.dagster_home(self.settings)))
        run = instance.get_runs(limit=1)[0]
        events = instance.all_logs(run.run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION)
        [gate] = [
            e.dagster_event.event_specific_data
            for e in events
            if e.dagster_event.event_specific_data.asset_check_key.name == "quality_gate"
        ]
        return gate


def start_env(env: str, mlflow_server: str, tmp_path: Path, **overrides) -> EnvUnderTest:
    port = int(mlflow_server.rsplit(":", 1)[1])
    settings = load_settings(
        env,
        mlops_state_dir=tmp_path / env,
        mlflow_tracking_uri=mlflow_server,
        mlflow_port=port,
        serving_port=processes.free_port(),
        **overrides,
    )
    token = local_storage.local_secrets(settings, "serving")["RELOAD_SECRET_TOKEN"]
    env_vars = {**stack.dagster_env(settings), "RELOAD_SECRET_TOKEN": token}
    env_vars.pop("DAGSTER_HOME")
    server = start_model_server(tmp_path, env_vars, port=settings.serving_port)
    return EnvUnderTest(settings, server)


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.env for e in EXAMPLES])
def test_an_example_env_releases_serves_named_columns_and_its_champion_gate_refuses_a_worse_model(
    example, mlflow_server, tmp_path, monkeypatch
):
    records = example.records or _breast_cancer_records()
    env = start_env(example.env, mlflow_server, tmp_path)
    try:
        assert env.release(monkeypatch) == 0
        assert env.versions() == ["1"] and env.served("A") == "1"
        first_gate = env.last_gate()
        assert first_gate.passed, first_gate.description

        answer = env.predict({"dataframe_records": records})
        assert answer.status_code == 200, answer.text
        predictions = answer.json()["predictions"]
        assert len(predictions) == len(records)
        if env.settings.task == "regression":
            assert all(isinstance(p, float) for p in predictions)
        else:
            asked = env.predict({"dataframe_records": records, "return_proba": True})
            assert asked.status_code == 200, asked.text
            proba = asked.json()
            assert len(proba["probabilities"][0]) == len(proba["classes"]) and proba["predictions"] == predictions
        columns = list(records[0])
        split = env.predict({"dataframe_split": {"columns": columns, "data": [list(r.values()) for r in records]}})
        assert split.json()["predictions"] == predictions
        described = httpx.get(f"{env.server.url}/models", timeout=10).json()["models"]["A"]["columns"]
        assert [c["name"] for c in described] == columns
        # the Open Inference Protocol, as the model's v2 metadata says: one [rows, features] input for a
        # positional model, else one input per column, typed
        v2 = f"{env.server.url}/v2/models/{env.settings.model_name}"
        specs = httpx.get(v2, timeout=10).json()["inputs"]
        if specs[0]["shape"] == [-1, len(columns)]:
            inputs = [{**specs[0], "shape": [len(records), len(columns)], "data": [list(r.values()) for r in records]}]
        else:
            assert [spec["name"] for spec in specs] == columns
            inputs = [
                {**spec, "shape": [len(records)], "data": [r.get(spec["name"]) for r in records]} for spec in specs
            ]
        inferred = httpx.post(f"{v2}/versions/A/infer", json={"inputs": inputs, "outputs": [{"name": "predict"}]})
        assert inferred.status_code == 200, inferred.text
        assert inferred.json()["outputs"][0]["data"] == pytest.approx(predictions)
        required = next(c["name"] for c in described if not c["nullable"])
        missing = env.predict({"dataframe_records": [{k: v for k, v in records[0].items() if k != required}]})
        assert missing.status_code == 422, missing.text
        assert missing.json()["detail"] == f"dataframe_records.0: column {required!r} is missing"
        wrong = env.predict({"dataframe_records": [records[0], {**records[0], columns[0]: "a string"}]})
        assert wrong.status_code == 422, wrong.text
        assert wrong.json()["detail"] == f"dataframe_records.1: column {columns[0]!r} expects a number, got 'a string'"

        assert env.release(monkeypatch, ESTIMATOR_PARAMS=json.dumps(example.worse_params)) != 0
        gate = env.last_gate()
        assert not gate.passed and "GATE_MAX_REGRESSION" in gate.description, gate.description
        assert {"challenger", "champion"} <= set(gate.metadata), gate.metadata
        assert env.versions() == ["1"] and env.served("A") == "1"  # nothing registered, the champion serves on
    finally:
        processes.stop(env.server)


TEAM_TRAINER = """
import pandas as pd
from sklearn.compose import make_column_transformer
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder


def train(x_train: pd.DataFrame, y_train: pd.Series, params: dict):
    encode = make_column_transformer((OneHotEncoder(handle_unknown="ignore"), ["district"]), remainder="passthrough")
    return make_pipeline(encode, HistGradientBoostingRegressor(**params)).fit(x_train, y_train)
"""


def _houses(rows: int = 400) -> pd.DataFrame:
    import numpy as np

    rng = np.random.default_rng(0)
    district = rng.choice(["centre", "suburb", "rural"], rows)
    area = rng.uniform(30, 200, rows)
    price = area * 3 + pd.Series(district).map({"centre": 300, "suburb": 120, "rural": 0}) + rng.normal(0, 20, rows)
    frame = pd.DataFrame({"district": district, "area": area, "rooms": rng.integers(1, 6, rows), "price": price})
    frame.loc[rng.random(rows) < 0.05, "area"] = np.nan
    return frame


def test_a_team_env_outside_the_repository_releases_and_a_changed_schema_is_refused(
    mlflow_server, tmp_path, monkeypatch
):
    code, envs = tmp_path / "code", tmp_path / "envs"
    (code).mkdir()
    (code / "team_trainer.py").write_text(TEAM_TRAINER)
    env_dir = envs / "houses"
    env_dir.mkdir(parents=True)
    _houses().to_csv(env_dir / "houses.csv", index=False)
    (env_dir / "layers.yaml").write_text("attached: false\nlayers: {}\n")
    (env_dir / "platform.env").write_text(
        "MODEL_NAME=house-prices\nMLFLOW_EXPERIMENT=houses\nDATASET=houses.csv\nTARGET_COLUMN=price\n"
        'TASK=regression\nTRAINER=team_trainer:train\nESTIMATOR_PARAMS={"max_iter": 100}\n'
        "GATE_METRIC=mae\nGATE_THRESHOLD=60\nTARGET_ALIAS=A\n"
    )
    monkeypatch.setenv("MLOPS_ENVS_DIR", str(envs))
    monkeypatch.setenv("PYTHONPATH", str(code))
    env = start_env("houses", mlflow_server, tmp_path, mlops_envs_dir=envs)
    try:
        assert env.release(monkeypatch) == 0
        assert env.served("A") == "1"
        answer = env.predict({"dataframe_records": [{"district": "centre", "area": 80.0, "rooms": 3}]})
        assert answer.status_code == 200, answer.text
        [price] = answer.json()["predictions"]
        assert 400 < price < 700  # 80 m2 in the centre: 3 * 80 + 300, learnt

        changed = _houses().drop(columns=["rooms"])
        changed["area"] = changed["area"].map(lambda area: "large" if area > 100 else "small")
        changed.to_csv(env_dir / "houses.csv", index=False)
        assert env.release(monkeypatch) != 0
        instance = DagsterInstance.from_config(str(stack.dagster_home(env.settings)))
        run = instance.get_runs(limit=1)[0]
        [failure] = instance.all_logs(run.run_id, of_type=DagsterEventType.STEP_FAILURE)
        message = failure.dagster_event.event_specific_data.user_failure_data.description
        assert "column 'rooms' (number) is missing" in message and "column 'area' was number, is now string" in message
        assert env.versions() == ["1"] and env.served("A") == "1"
    finally:
        processes.stop(env.server)
