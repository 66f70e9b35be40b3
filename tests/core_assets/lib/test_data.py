"""Dataset loading, schema validation and the deterministic split."""

from __future__ import annotations

import pandas as pd
import pytest

from core_assets.lib.data import (
    DataValidationError,
    build_features,
    load_dataset,
    validate_dataset,
)


def _csv(tmp_path, frame: pd.DataFrame):
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
    return path


def _good_frame(rows: int = 40) -> pd.DataFrame:
    return pd.DataFrame({"a": range(rows), "b": [x * 0.5 for x in range(rows)], "label": [x % 2 for x in range(rows)]})


def test_iris_split_is_deterministic_and_stratified():
    first = build_features(None, "target", 0.25, seed=7)
    second = build_features(None, "target", 0.25, seed=7)
    other = build_features(None, "target", 0.25, seed=8)

    assert first.data_hash == second.data_hash
    assert list(first.x_test.index) == list(second.x_test.index)
    assert list(first.x_test.index) != list(other.x_test.index)
    assert len(first.x_train) == 112 and len(first.x_test) == 38
    assert first.y_test.value_counts().min() >= 12


def test_csv_dataset_loads(tmp_path):
    features = build_features(_csv(tmp_path, _good_frame()), "label", 0.25, seed=0)
    assert features.feature_names == ["a", "b"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.drop(columns=["label"]), "target column 'label' missing"),
        (lambda f: f.assign(b=["x"] * len(f)), "feature 'b' is not numeric"),
        (lambda f: f.assign(a=[float("nan")] + list(f.a[1:])), "feature 'a' has NaN"),
        (lambda f: f.head(5), "only 5 rows"),
    ],
)
def test_bad_schema_is_rejected_with_the_problem_named(tmp_path, change, message):
    frame = load_dataset(_csv(tmp_path, change(_good_frame())), "label")
    with pytest.raises(DataValidationError, match=message):
        validate_dataset(frame, "label")


def test_missing_csv_is_a_clear_error(tmp_path):
    with pytest.raises(DataValidationError, match="dataset CSV not found"):
        load_dataset(tmp_path / "absent.csv", "label")
