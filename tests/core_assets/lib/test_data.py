"""Dataset loading (scikit-learn's, CSV, Parquet), validation, normalisation and the split."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core_assets.lib.data import (
    BUILTIN,
    DataValidationError,
    build_features,
    builtin_features,
    feature_kinds,
    load_dataset,
    validate_dataset,
)


def _mixed(rows: int = 40) -> pd.DataFrame:
    """Numbers, strings and booleans, each with a missing value."""
    return pd.DataFrame(
        {
            "n": [np.nan] + [float(x) for x in range(1, rows)],
            "s": [None] + [["red", "blue"][x % 2] for x in range(1, rows)],
            "b": [None] + [x % 3 == 0 for x in range(1, rows)],
            "label": [x % 2 for x in range(rows)],
        }
    )


def test_iris_split_is_deterministic_and_stratified():
    first, second, other = builtin_features(seed=7), builtin_features(seed=7), builtin_features(seed=8)

    assert first.data_hash == second.data_hash
    assert list(first.x_test.index) == list(second.x_test.index)
    assert list(first.x_test.index) != list(other.x_test.index)
    assert len(first.x_train) == 112 and len(first.x_test) == 38 and first.row_count == 150
    assert first.y_test.value_counts().min() >= 12


@pytest.mark.parametrize("name", BUILTIN)
def test_scikit_learn_datasets_load_offline(name, tmp_path):
    frame = load_dataset(name, "y", tmp_path)
    assert "y" in frame.columns and len(frame) > 100


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_files_with_categorical_boolean_and_missing_values_load(tmp_path, suffix):
    path = tmp_path / f"data{suffix}"
    _mixed().to_csv(path, index=False) if suffix == ".csv" else _mixed().to_parquet(path)

    features = build_features(load_dataset(path.name, "label", tmp_path), "label", 0.25, 0, "classification")

    assert feature_kinds(features) == {"n": "number", "s": "string", "b": "boolean"}
    frame = pd.concat([features.x_train, features.x_test])
    assert frame["n"].dtype == np.float64 and frame["s"].dtype == object and frame["b"].dtype == object
    assert frame.isna().sum().to_dict() == {"n": 1, "s": 1, "b": 1}  # missing stays NaN, for imputers


def test_a_relative_path_is_read_from_the_env_folder(tmp_path):
    _mixed().to_csv(tmp_path / "mine.csv", index=False)
    assert len(load_dataset("mine.csv", "label", tmp_path)) == 40


@pytest.mark.parametrize(
    ("change", "task", "message"),
    [
        (lambda f: f.drop(columns=["label"]), "classification", "target column 'label' missing"),
        (lambda f: f.assign(s=["x", 1] * 20), "classification", "feature 's': mixes value types \\(int, str\\)"),
        (lambda f: f.assign(n=np.nan), "classification", "feature 'n' has no values"),
        (lambda f: f.assign(n=np.inf), "classification", "feature 'n' has infinite values"),
        (lambda f: f.assign(label=[None] + [1] * 39), "classification", "target column 'label' has 1 missing values"),
        (lambda f: f.assign(label=["a", "b"] * 20), "regression", "TASK=regression needs a numeric target"),
        (lambda f: f.head(5), "classification", "only 5 rows"),
    ],
)
def test_bad_data_is_rejected_with_each_problem_named(change, task, message):
    with pytest.raises(DataValidationError, match=message):
        validate_dataset(change(_mixed()), "label", task)


def test_missing_or_unknown_files_are_clear_errors(tmp_path):
    with pytest.raises(DataValidationError, match="dataset file not found"):
        load_dataset("absent.csv", "label", tmp_path)
    with pytest.raises(DataValidationError, match=r"data.xlsx: not a dataset file \(expected .csv, .parquet"):
        load_dataset("data.xlsx", "label", tmp_path)


def test_a_dataset_in_the_artifact_store_is_downloaded(mlflow_server, tmp_path):
    """A CSV logged to the env's MLflow artifact store (S3 behind the server in prod), named by its URI."""
    from mlops_base.mlflow_client import bounded_client

    _mixed().to_parquet(tmp_path / "customers.parquet")
    client = bounded_client(mlflow_server)
    run = client.create_run(client.create_experiment(f"datasets-{tmp_path.name}"))
    client.log_artifact(run.info.run_id, str(tmp_path / "customers.parquet"), "data")
    uri = f"{run.info.artifact_uri}/data/customers.parquet"
    assert uri.startswith("mlflow-artifacts:/")

    frame = load_dataset(uri, "label", tmp_path / "elsewhere", mlflow_server)

    assert frame.shape == (40, 4) and frame["s"].isna().sum() == 1
    with pytest.raises(DataValidationError, match="cannot download mlflow-artifacts:/.*absent.csv"):
        load_dataset(uri.replace("customers.parquet", "absent.csv"), "label", tmp_path, mlflow_server)
