"""Explanations are right (fast tier): on every test row of the example envs' models the attributions
add up to the model's output (`|sum(phi) + base - f(x)| <= 1e-6`), and where the `shap` package
computes the same quantity (TreeExplainer, LinearExplainer) they equal its values within 1e-6.
XGBoost computes in float32: for it, within 1e-6 of the output's size."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier, RandomForestRegressor
from sklearn.linear_model import LogisticRegression

from core_assets.lib.data import build_features, builtin_features, load_dataset
from mlops_base.explain.explainers import explain
from mlops_base.settings import REPO_ROOT
from model_examples import diabetes, lightgbm_classifier
from model_examples.churn import churn_pipeline

shap = pytest.importorskip("shap")  # a dev dependency (not built for Intel macOS)
TOLERANCE = 1e-6


def _output(model, explanation, x) -> np.ndarray:
    if explanation.kind == "probability":
        return model.predict_proba(x)
    if explanation.kind == "log_odds":
        final = model.steps[-1][1] if hasattr(model, "steps") else model
        if hasattr(final, "booster_"):
            return np.asarray(model.predict(x, raw_score=True)).reshape(len(x), -1)
        if hasattr(final, "get_booster"):  # XGBoost's margin
            return np.asarray(model.predict(x, output_margin=True)).reshape(len(x), -1)
        return np.asarray(model.decision_function(x)).reshape(len(x), -1)
    return np.asarray(model.predict(x)).reshape(len(x), -1)


def _additive(model, x: pd.DataFrame, background: pd.DataFrame, relative: bool = False):
    """The attributions add up to the model's output within TOLERANCE (`relative`: TOLERANCE times
    the output's size, for a model that computes in float32)."""
    explanation = explain(model, x, background)
    assert explanation.phi.shape == (len(x), x.shape[1], len(explanation.outputs))
    assert explanation.columns == list(x.columns)
    expected = _output(model, explanation, x)
    scale = np.maximum(np.abs(expected), 1.0) if relative else 1.0
    error = (np.abs(explanation.output() - expected) / scale).max()
    assert error <= TOLERANCE, (explanation.method, error)
    return explanation


def _churn():
    frame = load_dataset("customers.csv", "churned", REPO_ROOT / "envs" / "churn-pipeline")
    return build_features(frame, "churned", 0.25, 42, "classification")


def test_iris_logistic_regression_is_exact_in_log_odds_and_equals_shaps_linear_explainer():
    features = builtin_features()
    model = LogisticRegression(C=1.0, max_iter=500).fit(features.x_train, features.y_train)
    background = features.x_train.head(100)  # shap's masker samples 100 rows of a larger one
    explanation = _additive(model, features.x_test, background)
    assert (explanation.method, explanation.kind, explanation.outputs) == ("linear", "log_odds", ["0", "1", "2"])
    expected = shap.LinearExplainer(model, background).shap_values(features.x_test)
    assert np.abs(np.asarray(expected).reshape(explanation.phi.shape) - explanation.phi).max() <= TOLERANCE


def test_the_churn_pipelines_one_hot_columns_are_summed_back_to_their_source_column():
    features = _churn()
    model = churn_pipeline(C=1.0).fit(features.x_train, features.y_train)
    background = features.x_train.head(100)
    explanation = _additive(model, features.x_test, background)
    assert explanation.method == "linear" and explanation.columns == list(features.x_train.columns)
    # shap on the columns the pipeline makes, summed per source column by the encoder's names
    columns, final = model[:-1], model.steps[-1][1]
    made = columns.transform(features.x_test)
    per_made = shap.LinearExplainer(final, columns.transform(background)).shap_values(made)
    names = columns.get_feature_names_out()
    for j, column in enumerate(explanation.columns):
        mine = [k for k, name in enumerate(names) if name.split("__", 1)[1].startswith(column)]
        assert mine, column
        assert np.abs(per_made[:, mine].sum(axis=1) - explanation.phi[:, j, 0]).max() <= TOLERANCE


def test_the_diabetes_regressor_is_explained_by_exact_shapley_values_over_a_background():
    features = builtin_features("diabetes", task="regression")
    model = diabetes.train(features.x_train, features.y_train, {"max_iter": 50, "learning_rate": 0.05})
    background = features.x_train.sample(20, random_state=0)
    explanation = _additive(model, features.x_test, background)  # every test row, 2^10 coalitions each
    assert (explanation.method, explanation.kind) == ("exact_shapley", "value")
    expected = shap.explainers.Exact(model.predict, background)(features.x_test.head(5)).values  # shap's is slow
    assert np.abs(expected - explanation.phi[:5, :, 0]).max() <= TOLERANCE


def test_lightgbm_uses_its_own_tree_shap_and_equals_shaps_tree_explainer():
    features = builtin_features("breast_cancer")
    model = lightgbm_classifier.train(features.x_train, features.y_train, {"n_estimators": 100, "num_leaves": 15})
    explanation = _additive(model, features.x_test, features.x_train)
    assert (explanation.method, explanation.kind, explanation.outputs) == ("lightgbm_pred_contrib", "log_odds", ["1"])
    expected = np.asarray(shap.TreeExplainer(model).shap_values(features.x_test)).reshape(explanation.phi.shape)
    assert np.abs(expected - explanation.phi).max() <= TOLERANCE


@pytest.mark.parametrize(
    ("dataset", "task", "outputs"),
    [
        ("breast_cancer", "classification", ["1"]),
        ("iris", "classification", ["0", "1", "2"]),
        ("diabetes", "regression", ["value"]),
    ],
)
def test_xgboost_uses_its_own_tree_shap_and_equals_shaps_tree_explainer(dataset, task, outputs):
    import xgboost

    features = builtin_features(dataset, task=task)
    kind = xgboost.XGBClassifier if task == "classification" else xgboost.XGBRegressor
    model = kind(n_estimators=50, max_depth=4, random_state=0).fit(features.x_train, features.y_train)
    # XGBoost adds its trees in float32: its own output is exact to float32's ~1e-7 of its size
    explanation = _additive(model, features.x_test, None, relative=True)  # trees need no background
    assert (explanation.method, explanation.outputs) == ("xgboost_pred_contrib", outputs)
    assert explanation.kind == ("log_odds" if task == "classification" else "value")
    expected = np.asarray(shap.TreeExplainer(model).shap_values(features.x_test))
    if expected.ndim == 3 and expected.shape[0] == len(outputs) != len(features.x_test):
        expected = np.transpose(expected, (1, 2, 0))
    assert np.abs(expected.reshape(explanation.phi.shape) - explanation.phi).max() <= TOLERANCE


@pytest.mark.parametrize(
    "model",
    [
        RandomForestClassifier(n_estimators=50, random_state=0),
        GradientBoostingClassifier(n_estimators=30, random_state=0),
        RandomForestRegressor(n_estimators=20, random_state=0),
    ],
    ids=lambda m: type(m).__name__,
)
def test_scikit_learn_tree_ensembles_equal_shaps_tree_explainer(model):
    task = "regression" if "Regressor" in type(model).__name__ else "classification"
    features = builtin_features("breast_cancer" if "Gradient" in type(model).__name__ else "iris", task=task)
    if task == "regression":
        features = builtin_features("diabetes", task="regression")
    model.fit(features.x_train, features.y_train)
    explanation = _additive(model, features.x_test, features.x_train)
    assert explanation.method == "tree_shap"
    expected = np.asarray(shap.TreeExplainer(model).shap_values(features.x_test)).reshape(explanation.phi.shape)
    assert np.abs(expected - explanation.phi).max() <= TOLERANCE


def test_a_model_of_many_columns_no_exact_method_knows_is_explained_along_permutations():
    from sklearn.ensemble import HistGradientBoostingClassifier

    features = builtin_features("breast_cancer")
    model = HistGradientBoostingClassifier(max_iter=30, random_state=0).fit(features.x_train, features.y_train)
    explanation = _additive(model, features.x_test.head(3), features.x_train.head(10))
    assert (explanation.method, explanation.kind, explanation.outputs) == (
        "permutation_shapley",
        "probability",
        ["0", "1"],
    )


def test_the_explainers_that_loop_in_python_are_told_apart_from_those_in_c_or_numpy():
    """The model server sends the first kind to its worker process (`serving.explain_worker`)."""
    import xgboost
    from sklearn.neighbors import KNeighborsClassifier

    from mlops_base.explain.explainers import runs_in_python

    features = builtin_features("breast_cancer")
    x, y, columns = features.x_train, features.y_train, list(features.x_train.columns)
    in_python = [RandomForestClassifier(n_estimators=5, random_state=0), KNeighborsClassifier()]
    in_c = [
        lightgbm_classifier.train(x, y, {"n_estimators": 5}),
        xgboost.XGBClassifier(n_estimators=5).fit(x, y),
        LogisticRegression(max_iter=500).fit(x, y),
    ]
    assert all(runs_in_python(model.fit(x, y), columns) for model in in_python)
    assert not any(runs_in_python(model, columns) for model in in_c)
