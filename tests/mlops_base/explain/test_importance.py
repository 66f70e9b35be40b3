"""A version's global importance (fast tier): shares of the mean |attribution| over the test split,
the sampled methods on a few rows only, and the bar chart trained_model's page shows."""

from __future__ import annotations

from sklearn.linear_model import LogisticRegression

from core_assets.lib.data import builtin_features
from mlops_base.explain.importance import SAMPLED_ROWS, global_importance, importance_markdown
from model_examples import diabetes


def test_the_iris_petals_carry_most_of_a_logistic_regressions_attribution():
    features = builtin_features()
    model = LogisticRegression(max_iter=500).fit(features.x_train, features.y_train)
    found = global_importance(model, features.x_test, features.x_train)
    assert (found["method"], found["output"], found["rows"]) == ("linear", "log_odds", len(features.x_test))
    assert abs(sum(found["share"].values()) - 1) < 1e-12
    top = sorted(found["share"], key=found["share"].get, reverse=True)
    assert set(top[:2]) == {"petal length (cm)", "petal width (cm)"}, found["share"]
    chart = importance_markdown(found).splitlines()
    assert chart[2:4] == ["| column | share | |", "|---|---:|---|"]
    assert chart[4].startswith(f"| {top[0]} | ") and chart[4].endswith("█ |")


def test_a_model_explained_by_sampling_is_explained_on_a_few_rows_at_training():
    features = builtin_features("diabetes", task="regression")
    model = diabetes.train(features.x_train, features.y_train, {"max_iter": 50, "learning_rate": 0.05})
    found = global_importance(model, features.x_test, features.x_train)
    assert (found["method"], found["rows"]) == ("exact_shapley", SAMPLED_ROWS)
