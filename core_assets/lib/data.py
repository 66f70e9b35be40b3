"""Load, validate and split the training data."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd


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


def load_dataset(csv_path: Path | None, target_column: str) -> pd.DataFrame:
    """The env's dataset: iris from scikit-learn when no CSV is configured."""
    if csv_path is None:
        from sklearn.datasets import (
            load_iris,  # scikit-learn loads lazily: most runs never need it
        )

        frame = load_iris(as_frame=True).frame
        return frame.rename(columns={"target": target_column})
    if not csv_path.is_file():
        raise DataValidationError(f"dataset CSV not found: {csv_path}")
    try:
        return pd.read_csv(csv_path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DataValidationError(f"cannot parse {csv_path}: {exc}") from exc


def validate_dataset(frame: pd.DataFrame, target_column: str) -> None:
    """Raise DataValidationError naming every problem: missing target, non-numeric or NaN features."""
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
        if not pd.api.types.is_numeric_dtype(features[name]):
            problems.append(f"feature {name!r} is not numeric (dtype {features[name].dtype})")
        elif not np.isfinite(features[name].to_numpy(dtype=float)).all():
            problems.append(f"feature {name!r} has NaN or infinite values")
    if target_column in frame.columns and frame[target_column].isna().any():
        problems.append(f"target column {target_column!r} has missing values")
    if problems:
        raise DataValidationError("; ".join(problems))


def data_hash(frame: pd.DataFrame) -> str:
    """Content hash of the dataset (column names and values), stable across runs."""
    digest = hashlib.sha256(",".join(map(str, frame.columns)).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()[:16]


def split_dataset(frame: pd.DataFrame, target_column: str, test_size: float, seed: int) -> FeatureSet:
    """Deterministic, stratified train/test split."""
    from sklearn.model_selection import train_test_split

    features = frame.drop(columns=[target_column]).astype(float)
    target = frame[target_column]
    stratify = target if target.value_counts().min() >= 2 else None
    x_train, x_test, y_train, y_test = train_test_split(
        features, target, test_size=test_size, random_state=seed, stratify=stratify
    )
    return FeatureSet(x_train, x_test, y_train, y_test, data_hash(frame))


def build_features(source: Path | None | pd.DataFrame, target_column: str, test_size: float, seed: int) -> FeatureSet:
    """Validate and split a dataset: a loaded frame, a CSV path, or None for iris."""
    frame = source if isinstance(source, pd.DataFrame) else load_dataset(source, target_column)
    validate_dataset(frame, target_column)
    return split_dataset(frame, target_column, test_size, seed)
