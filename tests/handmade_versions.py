"""Model versions logged by hand, as a team or an attacker registering outside the platform's
training would: the form (skops or pickle) and whether the platform's digest is logged are chosen."""

from __future__ import annotations

import mlflow
from mlflow import MlflowClient

from core_assets.release.registry import register_version


def log_and_register(
    tracking_uri: str,
    model_name: str,
    model,
    example,
    serialization: str = "skops",
    digest: bool = True,
    signature=None,
) -> str:
    """Log a fitted scikit-learn `model` by hand (not through the platform's training) and register it
    as a new version of `model_name`; `digest`: the artifact digest the platform logs is logged too."""
    from mlflow.models import infer_signature

    from core_assets.lib.training import logged_digest, skops_trusted_types
    from mlops_base.artifact_digest import DIGEST_TAG

    client = MlflowClient(tracking_uri)
    mlflow.set_tracking_uri(tracking_uri)
    with mlflow.start_run(experiment_id=mlflow.set_experiment("serving-tests").experiment_id) as run:
        info = mlflow.sklearn.log_model(
            model,
            name="model",
            serialization_format=serialization,
            skops_trusted_types=skops_trusted_types(model) if serialization == "skops" else None,
            signature=signature if signature is not None else infer_signature(example, model.predict(example)),
            input_example=example,
            pip_requirements=["scikit-learn"],
        )
        if digest:
            mlflow.set_tag(DIGEST_TAG, logged_digest(info.model_id))
    return str(register_version(client, model_name, info.model_uri, run.info.run_id).version)


def register_failing_version(tracking_uri: str, model_name: str) -> str:
    """A real model with a bug: a logistic regression that lost its last class label. It passes its
    smoke test (its input example is setosa rows) and fails with an IndexError on every row it would
    call virginica: a 500 on a third of real traffic."""
    from sklearn.linear_model import LogisticRegression

    from core_assets.lib.data import builtin_features

    features = builtin_features()
    model = LogisticRegression(max_iter=500).fit(features.x_train, features.y_train)
    model.classes_ = model.classes_[:2]
    return log_and_register(tracking_uri, model_name, model, features.x_train[features.y_train == 0].head(3))
