"""Safe model loading: what a registry writer can make a replica load. Real MLflow registry, real
uvicorn replicas following the registry's aliases; versions logged by hand as an attacker would."""

from __future__ import annotations

import operator
import subprocess
import sys

import httpx
import numpy as np
import pytest
from mlflow import MlflowClient
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from core_assets.lib.data import builtin_features
from mlops_platform import processes
from mlops_platform.release_watch import served_version, wait_for
from serving.runtimes.safe_load import trusted
from tests.handmade_versions import log_and_register
from tests.support import ROW, TOKEN, start_server


@pytest.mark.parametrize(
    ("type_name", "allowed"),
    [
        ("sklearn.tree._tree.Tree", True),
        ("sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor", True),
        ("lightgbm.sklearn.LGBMClassifier", True),
        ("numpy.dtype", True),
        ("builtins.eval", False),
        ("os.system", False),
        ("sklearn.utils._testing.assert_allclose", False),  # a function, even in the package
        ("sklearnx.Evil", False),
        ("pandas.core.frame.DataFrame", False),
    ],
)
def test_the_allowlist_takes_classes_of_the_model_libraries_only(type_name, allowed):
    assert trusted(type_name) is allowed


def _fitted():
    features = builtin_features()
    model = LogisticRegression(max_iter=500).fit(features.x_train, features.y_train)
    return model, features.x_train.head(3)


def _evil_pipeline():
    """A pipeline whose FunctionTransformer calls a function no model needs (`operator.pos` here, the
    identity: `eval` or `os.system` in an attack); skops names it as a type to trust."""
    features = builtin_features()
    model = make_pipeline(FunctionTransformer(operator.pos), LogisticRegression(max_iter=500))
    return model.fit(features.x_train, features.y_train), features.x_train.head(3)


EXPECTED = {"cloudpickle": "MODEL_ALLOW_PICKLE", "no digest": "no logged", "a function to trust": "_operator.pos"}


@pytest.mark.real
def test_unsafe_versions_moved_by_hand_are_refused_by_every_replica_which_keep_serving(
    mlflow_server, fresh_model, tmp_path
):
    client = MlflowClient(mlflow_server)
    served = fresh_model.versions[-1]  # B
    unsafe = {
        "cloudpickle": log_and_register(mlflow_server, fresh_model.name, *_fitted(), serialization="cloudpickle"),
        "no digest": log_and_register(mlflow_server, fresh_model.name, *_fitted(), digest=False),
        "a function to trust": log_and_register(mlflow_server, fresh_model.name, *_evil_pipeline()),
    }
    env = {"MLFLOW_TRACKING_URI": mlflow_server, "MODEL_NAME": fresh_model.name, "ALIAS_POLL_SECONDS": "0.5"}
    replicas = [start_server(tmp_path / f"replica-{i}", env) for i in range(2)]
    try:
        for why, version in unsafe.items():
            client.set_registered_model_alias(fresh_model.name, "B", version)  # by hand: no token, no run
            for replica in replicas:
                wait_for(
                    f"the replica's watch to try v{version}",
                    lambda replica=replica, version=version: _failed_to_load(replica.url, version),
                    timeout_s=30,
                )
                assert served_version(replica.url, "B") == served, why
                answer = httpx.post(f"{replica.url}/variant/B/predict", json={"data": [ROW]}, timeout=10)
                assert answer.status_code == 200 and answer.json()["version"] == served, why
            refused = httpx.post(f"{replicas[0].url}/variant/B/reload", headers={"x-token": TOKEN}, timeout=60)
            assert refused.status_code == 422, refused.text
            assert EXPECTED[why] in refused.json()["detail"], refused.text
    finally:
        for replica in replicas:
            processes.stop(replica)
        text = "".join(replica.log_path.read_text() for replica in replicas)
    assert "Traceback" not in text


def _failed_to_load(url: str, version: str) -> bool:
    """The replica's last error on B names the version: its watch tried it and refused it."""
    error = httpx.get(f"{url}/models", timeout=10).json()["models"]["B"]["last_error"] or ""
    return f" v{version}" in error


@pytest.mark.real
def test_pickle_loads_only_when_the_setting_says_so(mlflow_server, fresh_model, tmp_path):
    version = log_and_register(mlflow_server, fresh_model.name, *_fitted(), serialization="cloudpickle")
    MlflowClient(mlflow_server).set_registered_model_alias(fresh_model.name, "B", version)
    env = {"MLFLOW_TRACKING_URI": mlflow_server, "MODEL_NAME": fresh_model.name, "MODEL_ALLOW_PICKLE": "true"}
    server = start_server(tmp_path, env)
    try:
        answer = httpx.post(f"{server.url}/variant/B/predict", json={"data": [ROW]}, timeout=10).json()
        assert answer["version"] == version and np.isfinite(answer["predictions"][0])
    finally:
        processes.stop(server)


def test_a_skops_model_loads_importing_only_the_modules_its_types_name(tmp_path):
    """In a fresh interpreter (as the server's): the model loads and predicts; the estimator modules
    skops' own code does not name (and pytest, which scikit-learn's testing helpers import) are not
    imported."""
    import skops.io

    model = LogisticRegression(max_iter=500).fit(np.array([[0.0], [1.0], [2.0], [3.0]]), [0, 0, 1, 1])
    skops.io.dump(model, tmp_path / "model.skops")
    script = f"""
import sys
from pathlib import Path
from serving.runtimes.safe_load import LoadPolicy
import sklearn.utils
everything = sklearn.utils.all_estimators
model = LoadPolicy().load_serialized(Path({str(tmp_path / "model.skops")!r}), "skops", "test")
assert list(model.predict([[0.0], [3.0]])) == [0, 1]
assert sklearn.utils.all_estimators is everything
unnamed = ("sklearn.naive_bayes", "sklearn.neural_network", "sklearn.gaussian_process", "sklearn.tests", "pytest")
print(sorted(m for m in unnamed if m in sys.modules))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"


def test_an_xgboost_model_the_platform_trained_loads_from_its_own_format_and_is_explained(mlflow_server, tmp_path):
    """Logged by the platform's training with MLflow's xgboost flavour (UBJSON: data, no code), read by
    the server into XGBoost's scikit-learn class; answers as the model does, explained by XGBoost's
    own TreeSHAP."""
    import mlflow

    from core_assets.lib.training import TrainingSpec, train_and_log
    from core_assets.release.registry import register_version

    mlflow.set_tracking_uri(mlflow_server)
    features = builtin_features()
    spec = TrainingSpec(estimator="xgboost.XGBClassifier", params={"n_estimators": 20, "max_depth": 3})
    trained = train_and_log(features, spec, "tests", {})
    assert trained.flavour == "xgboost"
    client, name = MlflowClient(mlflow_server), f"xgboost-{tmp_path.name[-8:]}"
    version = str(register_version(client, name, trained.model_uri, trained.run_id).version)
    client.set_registered_model_alias(name, "A", version)
    server = start_server(tmp_path, {"MLFLOW_TRACKING_URI": mlflow_server, "MODEL_NAME": name})
    try:
        rows = features.x_test.to_numpy()[:5].tolist()
        local = mlflow.pyfunc.load_model(trained.model_uri).get_raw_model()
        answer = httpx.post(f"{server.url}/variant/A/predict", json={"data": rows, "return_proba": True}, timeout=30)
        assert answer.status_code == 200, answer.text
        assert answer.json()["predictions"] == local.predict(features.x_test.head(5)).tolist()
        explained = httpx.post(f"{server.url}/variant/A/explain", json={"data": rows}, timeout=30).json()
        assert (explained["method"], explained["output"]) == ("xgboost_pred_contrib", "log_odds")
        assert explained["outputs"] == ["0", "1", "2"] and len(explained["explanations"]) == 5
    finally:
        processes.stop(server)
