"""Fit the env's estimator, evaluate it and log the run to MLflow.

The heavy imports (scikit-learn metrics, skops, matplotlib) live inside the functions: every
Dagster run process imports this module, and most runs (deploy, rollback) never train.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import tempfile
from dataclasses import asdict, dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

from core_assets.lib.data import FeatureSet
from mlops_base.artifact_digest import DIGEST_TAG, directory_digest

# Explicit requirements: inferring them costs ~8 s per logged model.
PIP_REQUIREMENTS = [
    f"{package}=={version(package)}" for package in ("mlflow", "scikit-learn", "numpy", "pandas", "skops")
]


def training_code_version(class_path: str, params: dict[str, Any]) -> str:
    """Changes when this training code or the env's training parameters change."""
    digest = hashlib.sha256(Path(__file__).read_bytes())
    digest.update(json.dumps([class_path, params], sort_keys=True).encode())
    return digest.hexdigest()[:12]


@dataclass(frozen=True)
class TrainingResult:
    run_id: str
    model_uri: str
    experiment_id: str
    accuracy: float
    f1_macro: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def build_estimator(class_path: str, params: dict[str, Any]):
    """Instantiate a scikit-learn estimator from its dotted class path."""
    module_name, _, class_name = class_path.rpartition(".")
    try:
        estimator_cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"unknown estimator {class_path!r}: {exc}") from exc
    try:
        return estimator_cls(**params)
    except TypeError as exc:
        raise ValueError(f"bad parameters for {class_path}: {exc}") from exc


def skops_trusted_types(model) -> list[str]:
    """The types of a model we just fitted, declared trusted so its skops file loads."""
    import skops.io

    return skops.io.get_untrusted_types(data=skops.io.dumps(model))


def evaluate(y_true, y_pred) -> dict[str, float]:
    from sklearn.metrics import accuracy_score, f1_score

    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "f1_macro": float(f1_score(y_true, y_pred, average="macro")),
    }


def _confusion_figure(y_true, y_pred):
    import matplotlib

    matplotlib.use("Agg")  # headless: the figure is rendered to a file
    import matplotlib.pyplot as plt
    from sklearn.metrics import ConfusionMatrixDisplay, confusion_matrix

    labels = sorted(set(y_true) | set(y_pred))
    fig, ax = plt.subplots(figsize=(4, 4))
    ConfusionMatrixDisplay(confusion_matrix(y_true, y_pred, labels=labels), display_labels=labels).plot(
        ax=ax, colorbar=False
    )
    ax.set_title("confusion matrix (test split)")
    fig.tight_layout()
    return fig


def logged_digest(model_id: str) -> str:
    """The digest of the model as the artifact store holds it (read back from its artifact location,
    as the model server downloads it: a `models:/` download adds a file of MLflow's own)."""
    import mlflow.artifacts

    location = mlflow.get_logged_model(model_id).artifact_location
    with tempfile.TemporaryDirectory(prefix="logged-model-") as tmp:
        return directory_digest(Path(mlflow.artifacts.download_artifacts(artifact_uri=location, dst_path=tmp)))


def train_and_log(
    features: FeatureSet, class_path: str, params: dict[str, Any], experiment: str, tags: dict[str, str]
) -> TrainingResult:
    """Fit on the train split, score on the test split, log params/metrics/figure/model as one run."""
    import matplotlib.pyplot as plt
    import mlflow.sklearn
    from mlflow.models import infer_signature

    model = build_estimator(class_path, params)
    model.fit(features.x_train, features.y_train)
    predictions = model.predict(features.x_test)
    metrics = evaluate(features.y_test, predictions)

    experiment_id = mlflow.set_experiment(experiment).experiment_id
    with mlflow.start_run(experiment_id=experiment_id, tags=tags) as run:
        mlflow.log_params({"estimator": class_path, **params, "n_features": len(features.feature_names)})
        mlflow.log_metrics(metrics)
        fig = _confusion_figure(features.y_test, predictions)
        mlflow.log_figure(fig, "confusion_matrix.png")
        plt.close(fig)
        example = features.x_train.head(3)
        info = mlflow.sklearn.log_model(
            model,
            name="model",
            signature=infer_signature(example, model.predict(example)),
            input_example=example,
            pip_requirements=PIP_REQUIREMENTS,
            skops_trusted_types=skops_trusted_types(model),
        )
        mlflow.set_tag(DIGEST_TAG, logged_digest(info.model_id))
    return TrainingResult(
        run_id=run.info.run_id,
        model_uri=info.model_uri,
        experiment_id=experiment_id,
        accuracy=metrics["accuracy"],
        f1_macro=metrics["f1_macro"],
    )
