"""Fit the env's model (an estimator factory or the team's own trainer), score it, log it to MLflow.

The heavy imports (scikit-learn metrics, skops, matplotlib) live inside the functions: every
Dagster run process imports this module, and most runs (deploy, rollback) never train.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import json
import sys
import tempfile
import traceback
from dataclasses import asdict, dataclass, field
from importlib.machinery import ModuleSpec, PathFinder
from importlib.metadata import packages_distributions, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core_assets.lib.data import FeatureSet, feature_kinds
from core_assets.lib.metrics import score
from core_assets.lib.report import metrics_table, report_markdown, test_split_figures
from core_assets.lib.schema import SCHEMA_TAG
from mlops_base.artifact_digest import DIGEST_TAG, directory_digest
from mlops_base.explain.background import BACKGROUND_ARTIFACT, BACKGROUND_TAG, decode_background, encode_background
from mlops_base.model_card import PROBE_TAG, SPLIT_METRICS_ARTIFACT
from mlops_base.reference_profile import PROFILE_ARTIFACT, PROFILE_TAG, build_profile, summary_markdown
from mlops_base.reference_profile import encode as encode_profile
from mlops_base.reference_profile import sample as reference_sample
from mlops_base.settings import Settings, Task
from mlops_base.skops_import import skops_io

if TYPE_CHECKING:
    import pandas as pd

BASE_REQUIREMENTS = ("mlflow", "scikit-learn", "numpy", "pandas", "skops")


class TrainingError(ValueError):
    """The env's estimator or trainer could not produce a model; the message says why, for the user."""


@dataclass(frozen=True)
class TrainingSpec:
    """What to fit: `trainer(x, y, params)`, or `estimator(**params).fit(x, y)`."""

    task: Task = "classification"
    estimator: str = "sklearn.ensemble.RandomForestClassifier"
    params: dict[str, Any] = field(default_factory=dict)
    trainer: str = ""

    @classmethod
    def of(cls, settings: Settings) -> TrainingSpec:
        return cls(settings.task, settings.estimator, settings.estimator_params, settings.trainer)

    @property
    def name(self) -> str:
        return self.trainer or self.estimator


def _split_path(path: str) -> tuple[str, str]:
    return path.split(":", 1) if ":" in path else path.rsplit(".", 1)


def import_object(path: str) -> Any:
    """`package.module:function` or `package.module.Name`."""
    module_name, attribute = _split_path(path)
    try:
        return getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise TrainingError(f"cannot import {path!r}: {type(exc).__name__}: {exc}") from exc


def _module_spec(name: str) -> ModuleSpec | None:
    """The module's spec, found without importing its parent packages (`find_spec` of a submodule
    imports them: scikit-learn's costs the code location ~1 s at every load)."""
    parent, _, _ = name.rpartition(".")
    if not parent or name in sys.modules:
        return importlib.util.find_spec(name)
    above = _module_spec(parent)
    if above is None or above.submodule_search_locations is None:
        return None
    return PathFinder.find_spec(name, above.submodule_search_locations)


def _source_bytes(path: str) -> bytes:
    """The source of the module `path` lives in (b"" when it has none on disk)."""
    try:
        spec = _module_spec(_split_path(path)[0])
    except (ImportError, ValueError):
        return b""
    origin = Path(spec.origin) if spec and spec.origin else None
    return origin.read_bytes() if origin and origin.is_file() else b""


def training_code_version(spec: TrainingSpec) -> str:
    """Changes when this training code, the team's trainer or estimator module, or the env's
    training parameters change."""
    digest = hashlib.sha256(Path(__file__).read_bytes())
    for path in filter(None, (spec.trainer, spec.estimator)):
        digest.update(_source_bytes(path))
    digest.update(json.dumps([spec.task, spec.estimator, spec.params, spec.trainer], sort_keys=True).encode())
    return digest.hexdigest()[:12]


def _user_error(what: str, exc: BaseException) -> TrainingError:
    """The exception with the last frames of its traceback: enough to find the line in the user's code."""
    frames = traceback.extract_tb(exc.__traceback__)[1:]
    # the team's frames (not a library's), else where the library raised
    own = [f for f in frames if "site-packages" not in f.filename and "/lib/python3" not in f.filename]
    where = "; ".join(f"{Path(f.filename).name}:{f.lineno} in {f.name}: {f.line}" for f in own[-3:] or frames[-1:])
    return TrainingError(f"{what} raised {type(exc).__name__}: {exc}" + (f" (at {where})" if where else ""))


def fit_model(spec: TrainingSpec, x_train: pd.DataFrame, y_train: pd.Series):
    """The fitted model; TrainingError naming the user's failure, or a result without `predict`."""
    if spec.trainer:
        trainer = import_object(spec.trainer)
        try:
            model = trainer(x_train.copy(), y_train.copy(), dict(spec.params))
        except Exception as exc:  # the user's code: any failure is reported, nothing is registered
            raise _user_error(f"TRAINER {spec.trainer}", exc) from exc
    else:
        factory = import_object(spec.estimator)
        try:
            model = factory(**spec.params)
            model.fit(x_train, y_train)
        except Exception as exc:  # bad parameters, or the estimator cannot take this data
            raise _user_error(f"ESTIMATOR {spec.estimator}", exc) from exc
    if not callable(getattr(model, "predict", None)):
        raise TrainingError(f"{spec.name} returned a {type(model).__name__}, which has no predict()")
    return model


def skops_trusted_types(model) -> list[str]:
    """The types of a model we just fitted, declared trusted so its skops file loads."""
    skops = skops_io()  # first: MLflow's own `import skops.io` then finds the lean one
    return skops.get_untrusted_types(data=skops.dumps(model))


def flavour_of(model) -> str:
    """The MLflow flavour a model is logged with: LightGBM's and XGBoost's for theirs, scikit-learn's otherwise."""
    library = type(model).__module__.split(".")[0]
    return library if library in ("lightgbm", "xgboost") else "sklearn"


def _log_model(model, signature, example: pd.DataFrame):
    import mlflow

    flavour = flavour_of(model)
    requirements = [f"{p}=={version(p)}" for p in BASE_REQUIREMENTS]  # inferring them costs ~8 s
    if flavour != "sklearn":  # the distribution that installed it (xgboost-cpu installs xgboost)
        distribution = packages_distributions().get(flavour, [flavour])[0]
        requirements.append(f"{distribution}=={version(distribution)}")
    common = {"name": "model", "signature": signature, "input_example": example, "pip_requirements": requirements}
    if flavour == "xgboost":  # XGBoost's own format (UBJSON): data, never code
        import mlflow.xgboost

        return mlflow.xgboost.log_model(model, model_format="ubj", **common)
    # LightGBM's scikit-learn API and scikit-learn models: skops, never pickle
    module = mlflow.lightgbm if flavour == "lightgbm" else mlflow.sklearn
    return module.log_model(
        model, serialization_format="skops", skops_trusted_types=skops_trusted_types(model), **common
    )


def probe_record(model, example: pd.DataFrame) -> str:
    """The example's first row and the model's prediction for it, as JSON (what the synthetic probe
    expects every replica to answer for this version, on every protocol)."""
    row = example.head(1)
    return json.dumps(
        {"row": json.loads(row.to_json(orient="records"))[0], "prediction": _plain(model.predict(row)[0])}
    )


def _plain(value):
    return value.item() if hasattr(value, "item") else value


def logged_digest(model_id: str) -> str:
    """The digest of the model as the artifact store holds it (read back from its artifact location,
    as the model server downloads it: a `models:/` download adds a file of MLflow's own)."""
    import mlflow.artifacts

    location = mlflow.get_logged_model(model_id).artifact_location
    with tempfile.TemporaryDirectory(prefix="logged-model-") as tmp:
        return directory_digest(Path(mlflow.artifacts.download_artifacts(artifact_uri=location, dst_path=tmp)))


@dataclass(frozen=True)
class TrainingResult:
    run_id: str
    model_uri: str
    experiment_id: str
    metrics: dict[str, float]
    flavour: str
    report: str  # Markdown: figures and per-class (per-bucket) metrics of the test split
    reference: str = ""  # Markdown: the reference profile's summary
    importance: str = ""  # Markdown: the global importance's bar chart

    @property
    def accuracy(self) -> float:
        return self.metrics["accuracy"]

    def as_dict(self) -> dict[str, Any]:
        """What trained_model hands downstream (the report, the reference and the importance are shown,
        not passed on)."""
        return {k: v for k, v in asdict(self).items() if k not in ("report", "reference", "importance")}


def train_and_log(
    features: FeatureSet, spec: TrainingSpec, experiment: str, tags: dict[str, str], tracking_uri: str | None = None
) -> TrainingResult:
    """Fit on the train split, score on the test split, log params/metrics/figures/model as one run
    (to `tracking_uri`: MLflow's fluent logging API reads only the process's global one)."""
    import matplotlib.pyplot as plt
    import mlflow
    import pandas as pd
    from mlflow.models import infer_signature

    model = fit_model(spec, features.x_train, features.y_train)
    try:
        metrics, predictions = score(model, features.x_test, features.y_test, spec.task)
    except Exception as exc:  # the fitted model cannot predict its own test split
        raise _user_error(f"predict of the model {spec.name} returned", exc) from exc

    if tracking_uri is not None:
        mlflow.set_tracking_uri(tracking_uri)
    experiment_id = mlflow.set_experiment(experiment).experiment_id
    with mlflow.start_run(experiment_id=experiment_id, tags=tags) as run:
        mlflow.log_params(
            {"model": spec.name, "task": spec.task, **spec.params, "n_features": features.x_train.shape[1]}
        )
        mlflow.log_metrics(metrics)
        mlflow.set_tag(SCHEMA_TAG, json.dumps(feature_kinds(features)))
        figures = test_split_figures(spec.task, features.y_test, predictions)
        for name, fig in figures.items():
            mlflow.log_figure(fig, f"{name}.png")
        report = report_markdown(spec.task, features.y_test, predictions, figures)
        for fig in figures.values():
            plt.close(fig)
        mlflow.log_text(report, "test_split_report.md")
        split_metrics = metrics_table(spec.task, features.y_test, predictions).reset_index().to_dict(orient="records")
        mlflow.log_dict(split_metrics, SPLIT_METRICS_ARTIFACT)
        frame = pd.concat([features.x_train, features.x_test])
        complete = features.x_train.dropna()
        example = (complete if len(complete) >= 3 else features.x_train).head(3)
        # inferred from all rows: a column with missing values is marked optional in the signature
        signature = infer_signature(frame, model.predict(example))
        info = _log_model(model, signature, example)
        mlflow.set_tag(PROBE_TAG, probe_record(model, example))
        mlflow.set_tag(DIGEST_TAG, logged_digest(info.model_id))
        profile = log_reference_profile(model, frame, feature_kinds(features), spec.task)
        background, background_digest = encode_background(features.x_train)
        mlflow.log_text(background.decode(), BACKGROUND_ARTIFACT)
        mlflow.set_tag(BACKGROUND_TAG, background_digest)
        importance = log_global_importance(model, features.x_test, decode_background(background))
    return TrainingResult(
        run.info.run_id,
        info.model_uri,
        experiment_id,
        metrics,
        flavour_of(model),
        report,
        summary_markdown(profile),
        importance,
    )


def log_global_importance(model, x_test: pd.DataFrame, background: pd.DataFrame) -> str:
    """The version's global importance logged with the active run; Markdown for trained_model's page
    (what the explainers cannot explain is said there, and the run goes on)."""
    import mlflow

    from mlops_base.explain.importance import IMPORTANCE_ARTIFACT, global_importance, importance_markdown

    try:
        found = global_importance(model, x_test, background)
    except Exception as exc:  # an explanation is a report: it never fails a training run
        return f"not computed: {type(exc).__name__}: {exc}"
    mlflow.log_dict(found, IMPORTANCE_ARTIFACT)
    return importance_markdown(found)


def log_reference_profile(model, frame: pd.DataFrame, kinds: dict[str, str], task: Task) -> dict[str, Any]:
    """The version's reference for drift (`mlops_base.reference_profile`), logged with the active
    run and named by its digest (the registered version carries the tag)."""
    import mlflow

    rows = reference_sample(frame)
    profile = build_profile(rows, kinds, model.predict(rows), "number" if task == "regression" else "category")
    data, digest = encode_profile(profile)
    mlflow.log_text(data.decode(), PROFILE_ARTIFACT)
    mlflow.set_tag(PROFILE_TAG, digest)
    return profile
