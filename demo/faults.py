"""Faults the demo injects on purpose; they live here, never in the product's packages."""

from __future__ import annotations

import contextlib
import logging
import os

import mlflow

from core_assets.lib.data import builtin_features
from core_assets.lib.training import TrainingSpec, train_and_log
from core_assets.release.registry import register_version
from mlops_base.mlflow_client import bounded_client
from mlops_base.settings import Settings
from mlops_platform import processes


def register_corrupt_version(settings: Settings) -> str:
    """Register a version whose model file is garbage: its deploy must fail and be rolled back.
    MLflow's own output (progress bars, run links, notices) goes to the demo's `faults.log`."""
    log = settings.state_dir / "logs" / "faults.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a") as out, contextlib.redirect_stdout(out), contextlib.redirect_stderr(out), _quiet_mlflow():
        return _register_corrupt_version(settings)


@contextlib.contextmanager
def _quiet_mlflow():
    """No progress bars, run links or INFO notices from MLflow, for the block only."""
    quiet = {"MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false", "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true"}
    saved = {name: os.environ.get(name) for name in quiet}
    logger = logging.getLogger("mlflow")
    level = logger.level
    os.environ.update(quiet)
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _register_corrupt_version(settings: Settings) -> str:
    mlflow.set_tracking_uri(settings.mlflow_tracking_uri)
    client = bounded_client(settings.mlflow_tracking_uri)
    features = builtin_features(test_size=settings.test_size, seed=settings.split_seed)
    trained = train_and_log(
        features, TrainingSpec(estimator="sklearn.tree.DecisionTreeClassifier", params={}), "fault-injection", {}
    )
    version = str(register_version(client, settings.model_name, trained.model_uri, trained.run_id).version)
    uri = client.get_model_version_download_uri(settings.model_name, version)
    for model_file in processes.mlflow_artifact_path(settings.state_dir, uri).glob("model.*"):
        model_file.write_bytes(b"\x00 corrupt on purpose")
    return version
