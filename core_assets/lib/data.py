"""Load, validate and split the training data: numeric, categorical (string) and boolean columns,
missing values allowed.

A dataset is named by `DATASET`: a scikit-learn dataset (loaded offline from the files it ships),
a CSV or Parquet file (relative to the env's folder or the repository), or a file in the env's
artifact store (`s3://...`, `mlflow-artifacts:/...`).
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from core_assets.lib.schema import Kind, column_kind, normalise
from mlops_base.settings import REPO_ROOT, Task

if TYPE_CHECKING:
    import pandas as pd

BUILTIN = ("iris", "diabetes", "wine", "breast_cancer")
READERS = {".csv": "read_csv", ".parquet": "read_parquet", ".pq": "read_parquet"}  # pandas readers
REMOTE_SCHEMES = ("s3://", "mlflow-artifacts:", "runs:/", "models:/", "gs://", "http://", "https://")


class DataValidationError(ValueError):
    """The dataset does not have the shape training needs."""


@dataclass(frozen=True)
class FeatureSet:
    x_train: pd.DataFrame
    x_test: pd.DataFrame
    y_train: pd.Series
    y_test: pd.Series
    data_hash: str

    @property
    def feature_names(self) -> list[str]:
        return list(self.x_train.columns)

    @property
    def row_count(self) -> int:
        return len(self.x_train) + len(self.x_test)


def resolve_path(dataset: str, env_dir: Path) -> Path:
    """A relative `DATASET` path: in the env's folder if there, else from the repository root."""
    path = Path(dataset)
    if path.is_absolute():
        return path
    return env_dir / path if (env_dir / path).exists() else REPO_ROOT / path


def _builtin(name: str, target_column: str) -> pd.DataFrame:
    from sklearn import datasets  # scikit-learn loads lazily: most runs never need it

    frame = getattr(datasets, f"load_{name}")(as_frame=True).frame
    return frame.rename(columns={"target": target_column})


def read_file(path: Path) -> pd.DataFrame:
    import pandas as pd

    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise DataValidationError(f"{path.name}: not a dataset file (expected {', '.join(READERS)})")
    if not path.is_file():
        raise DataValidationError(f"dataset file not found: {path}")
    try:
        return getattr(pd, reader)(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError, ValueError) as exc:
        raise DataValidationError(f"cannot read {path.name}: {exc}") from exc


def _remote(uri: str, tracking_uri: str) -> pd.DataFrame:
    import mlflow.artifacts

    with tempfile.TemporaryDirectory(prefix="dataset-") as tmp:
        try:
            local = mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=tmp, tracking_uri=tracking_uri)
        except Exception as exc:  # any store error: the dataset is not there or not reachable
            raise DataValidationError(f"cannot download {uri}: {type(exc).__name__}: {exc}") from exc
        return read_file(Path(local))


def load_dataset(dataset: str, target_column: str, env_dir: Path, tracking_uri: str = "") -> pd.DataFrame:
    """The frame `DATASET` names."""
    if dataset in BUILTIN:
        return _builtin(dataset, target_column)
    if dataset.startswith(REMOTE_SCHEMES):
        return _remote(dataset, tracking_uri)
    return read_file(resolve_path(dataset, env_dir))


def with_labelled_traffic(frame: pd.DataFrame, traffic: list[pd.DataFrame]) -> tuple[pd.DataFrame, int]:
    """The dataset plus the labelled traffic the layers returned (`mlops_labelled_traffic`), in the
    dataset's columns; how many rows were added. No labelled traffic at all is an error: a retrain
    asked for it, and would otherwise learn nothing new."""
    import pandas as pd

    rows = [part for part in traffic if len(part)]
    if not rows:
        raise DataValidationError(
            "the run asks for labelled traffic and no layer has any: turn the evaluation layer on with "
            "PREDICTION_LOG_INPUTS=all and feed outcomes back (POST /feedback)"
        )
    added = pd.concat(rows, ignore_index=True)
    missing = [column for column in frame.columns if column not in added.columns]
    if missing:
        raise DataValidationError(f"the labelled traffic lacks the dataset's column(s) {', '.join(missing)}")
    return pd.concat([frame, added[list(frame.columns)]], ignore_index=True), len(added)


def validate_dataset(frame: pd.DataFrame, target_column: str, task: Task = "classification") -> None:
    """Raise DataValidationError naming every problem: missing target, too few rows, unsupported or
    mixed column types, a column with no value, infinite numbers, missing or non-numeric targets."""
    import numpy as np
    import pandas as pd

    problems: list[str] = []
    if target_column not in frame.columns:
        problems.append(f"target column {target_column!r} missing (columns: {list(frame.columns)})")
    features = frame.drop(columns=[target_column], errors="ignore")
    if features.shape[1] == 0:
        problems.append("no feature columns")
    if len(frame) < 10:
        problems.append(f"only {len(frame)} rows; need at least 10")
    for name in features.columns:
        if not isinstance(name, str) or not name.strip():
            problems.append(f"feature column name {name!r} is not a non-empty string")
            continue
        column = features[name]
        try:
            kind = column_kind(column)
        except TypeError as exc:
            problems.append(f"feature {name!r}: {exc}")
            continue
        if column.isna().all():
            problems.append(f"feature {name!r} has no values")
        elif kind == "number" and np.isinf(column.to_numpy(dtype=float)).any():
            problems.append(f"feature {name!r} has infinite values")
    if target_column in frame.columns:
        target = frame[target_column]
        if target.isna().any():
            problems.append(f"target column {target_column!r} has {int(target.isna().sum())} missing values")
        if task == "regression" and not pd.api.types.is_numeric_dtype(target):
            problems.append(f"TASK=regression needs a numeric target; {target_column!r} is {target.dtype}")
        if task == "classification" and target.nunique() < 2:
            problems.append(f"target column {target_column!r} has fewer than 2 classes")
    if problems:
        raise DataValidationError("; ".join(problems))


def data_hash(frame: pd.DataFrame) -> str:
    """Content hash of the dataset (column names and values), stable across runs."""
    import pandas as pd

    digest = hashlib.sha256(",".join(map(str, frame.columns)).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()[:16]


def split_dataset(
    frame: pd.DataFrame, target_column: str, test_size: float, seed: int, task: Task = "classification"
) -> FeatureSet:
    """Deterministic train/test split (stratified for classification)."""
    from sklearn.model_selection import train_test_split

    features = normalise(frame.drop(columns=[target_column]))
    target = frame[target_column]
    stratify = target if task == "classification" and target.value_counts().min() >= 2 else None
    x_train, x_test, y_train, y_test = train_test_split(
        features, target, test_size=test_size, random_state=seed, stratify=stratify
    )
    return FeatureSet(x_train, x_test, y_train, y_test, data_hash(frame))


def build_features(frame: pd.DataFrame, target_column: str, test_size: float, seed: int, task: Task) -> FeatureSet:
    """Validate and split a loaded dataset."""
    validate_dataset(frame, target_column, task)
    return split_dataset(frame, target_column, test_size, seed, task)


def feature_kinds(features: FeatureSet) -> dict[str, Kind]:
    return {name: column_kind(features.x_train[name]) for name in features.feature_names}


def builtin_features(name: str = "iris", test_size: float = 0.25, seed: int = 42, task: Task = "classification"):
    """A scikit-learn dataset, validated and split (target column `target`): for tests, bench and demo."""
    return build_features(_builtin(name, "target"), "target", test_size, seed, task)
