"""The exact explanations, one per kind of model: path-dependent TreeSHAP of scikit-learn's trees
(as the `shap` package's TreeExplainer computes it), LightGBM's and XGBoost's own TreeSHAP (the same
algorithm, in C++), and linear models against the background's mean (`shap`'s LinearExplainer with
an independent masker). Each on the columns the estimator takes; `explainers` maps a pipeline's
columns back to its input columns."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from mlops_base.explain.kinds import Method, OutputKind
from mlops_base.explain.tree_shap import Tree, tree_shap

Found = tuple[np.ndarray, np.ndarray, OutputKind, list[str]]  # base (outputs,), phi (rows, columns, outputs)


def classes_of(model) -> list[str] | None:
    classes = getattr(model, "classes_", None)
    return None if classes is None else [str(c) for c in np.asarray(classes).tolist()]


def dense(z) -> np.ndarray:
    return np.asarray(z.toarray() if hasattr(z, "toarray") else z, dtype=np.float64)


def _sklearn_tree(estimator, classifier: bool) -> Tree:
    t = estimator.tree_
    value = t.value[:, 0, :] if t.value.shape[1] == 1 else t.value[:, :, 0]
    if classifier:  # class fractions per node, as predict_proba averages them
        value = value / value.sum(axis=1, keepdims=True)
    return Tree(t.children_left, t.children_right, t.feature, t.threshold, value, t.weighted_n_node_samples)


def _trees(model, z: np.ndarray, _background: np.ndarray | None) -> Found:
    """A scikit-learn tree ensemble's (base, phi) on `z`."""
    from sklearn.base import is_classifier
    from sklearn.ensemble import GradientBoostingClassifier, GradientBoostingRegressor

    classifier = is_classifier(model)
    z32 = z.astype(np.float32)  # scikit-learn's trees compare float32 inputs with their thresholds
    if isinstance(model, (GradientBoostingClassifier, GradientBoostingRegressor)):
        stages = model.estimators_  # (n_stages, K) regression trees on the raw score
        rate = model.learning_rate
        trees = [[_sklearn_tree(tree, False) for tree in stage] for stage in stages]
        outputs = stages.shape[1]
        phi = np.zeros((len(z), z.shape[1], outputs))
        for stage in trees:
            for k, tree in enumerate(stage):
                part = np.zeros((len(z), z.shape[1], 1))
                tree_shap(tree, z32, part)
                phi[:, :, k] += rate * part[:, :, 0]
        raw = model.decision_function(z) if classifier else model.predict(z)
        raw = np.asarray(raw, dtype=np.float64).reshape(len(z), -1)
        # the initial estimate (a prior's log-odds, the mean) plus the trees' expected values: the
        # same for every row (the suite checks additivity on every row), read off the first
        base = (raw - phi.sum(axis=1))[0]
        names = classes_of(model) if classifier else ["value"]
        return base, phi, ("log_odds" if classifier else "value"), (names[-1:] if outputs == 1 else names)
    estimators = getattr(model, "estimators_", [model])
    trees = [_sklearn_tree(e, classifier) for e in estimators]
    outputs = trees[0].value.shape[1]
    phi = np.zeros((len(z), z.shape[1], outputs))
    for tree in trees:
        tree_shap(tree, z32, phi)
    base = sum(tree.expected_value() for tree in trees) / len(trees)
    return base, phi / len(trees), ("probability" if classifier else "value"), (classes_of(model) or ["value"])


def _margins(model, blocks: np.ndarray) -> Found:
    """(base, phi, kind, outputs) of a booster's contributions: per row and output, the columns' then
    the base's (the same for every row), in log-odds for a classifier."""
    phi = np.transpose(blocks[:, :, :-1], (0, 2, 1))
    classes = classes_of(model)
    names = ["value"] if classes is None else (classes[-1:] if blocks.shape[1] == 1 else classes)
    return blocks[0, :, -1], phi, ("value" if classes is None else "log_odds"), names


def _lightgbm(model, z: np.ndarray, _background: np.ndarray | None) -> Found:
    """LightGBM's own TreeSHAP (`pred_contrib`) on the booster, given floats: no frame to convert and
    no check of column names in Python, so the call holds the GIL only around the C library's."""
    contrib = np.asarray(model.booster_.predict(z, pred_contrib=True), dtype=np.float64)
    width = z.shape[1] + 1
    return _margins(model, contrib.reshape(len(z), contrib.shape[1] // width, width))


def _xgboost(model, z: np.ndarray, _background: np.ndarray | None) -> Found:
    """XGBoost's own TreeSHAP (`pred_contribs`) on the booster, given floats named as it was fitted."""
    import xgboost

    booster = model.get_booster()
    matrix = xgboost.DMatrix(z, feature_names=booster.feature_names)
    contrib = np.asarray(booster.predict(matrix, pred_contribs=True), dtype=np.float64)
    return _margins(model, contrib[:, None, :] if contrib.ndim == 2 else contrib)


def _linear(model, z: np.ndarray, background: np.ndarray | None) -> Found:
    """`coef * (z - mean z over the background)`, in log-odds for a classifier."""
    assert background is not None  # `explain` asks for one first
    coef = np.atleast_2d(np.asarray(model.coef_, dtype=np.float64))  # (outputs, columns)
    intercept = np.atleast_1d(np.asarray(model.intercept_, dtype=np.float64))
    mean = background.mean(axis=0)
    phi = (z - mean)[:, :, None] * coef.T[None, :, :]
    base = mean @ coef.T + intercept
    classes = classes_of(model)
    names = ["value"] if classes is None else (classes[-1:] if coef.shape[0] == 1 else classes)
    return base, phi, ("value" if classes is None else "log_odds"), names


def _is_linear(model) -> bool:
    from sklearn.base import is_regressor

    linear_module = type(model).__module__.startswith("sklearn.linear_model")
    return linear_module and hasattr(model, "coef_") and (is_regressor(model) or hasattr(model, "decision_function"))


def _is_sklearn_trees(model) -> bool:
    from sklearn.ensemble import (
        ExtraTreesClassifier,
        ExtraTreesRegressor,
        GradientBoostingClassifier,
        GradientBoostingRegressor,
        RandomForestClassifier,
        RandomForestRegressor,
    )
    from sklearn.tree import BaseDecisionTree

    ensembles = (
        RandomForestClassifier,
        RandomForestRegressor,
        ExtraTreesClassifier,
        ExtraTreesRegressor,
        GradientBoostingClassifier,
        GradientBoostingRegressor,
    )
    return isinstance(model, (BaseDecisionTree, *ensembles)) and getattr(model, "n_outputs_", 1) == 1


def _is_lightgbm(model) -> bool:
    return type(model).__module__.split(".")[0] == "lightgbm" and hasattr(model, "booster_")


def _is_xgboost(model) -> bool:
    return type(model).__module__.split(".")[0] == "xgboost" and hasattr(model, "get_booster")


# the exact methods, each with what it explains: the first that takes the model explains it
EXACT: tuple[tuple[Method, Callable[[Any], bool], Callable[[Any, np.ndarray, np.ndarray | None], Found]], ...] = (
    ("lightgbm_pred_contrib", _is_lightgbm, _lightgbm),
    ("xgboost_pred_contrib", _is_xgboost, _xgboost),
    ("linear", _is_linear, _linear),
    ("tree_shap", _is_sklearn_trees, _trees),
)


NEEDS_BACKGROUND: frozenset[Method] = frozenset({"linear"})  # the others read the model alone


def exact_method(model) -> Method | None:
    """The exact method that explains the estimator `model` (a pipeline's last step), or None."""
    return next((method for method, takes, _ in EXACT if takes(model)), None)


def explain_exactly(method: Method, model, z: np.ndarray, background: np.ndarray | None) -> Found:
    """(base, phi, kind, outputs) of `method` on the columns `z` the estimator takes (`background`:
    rows of the same columns, for a linear model's mean)."""
    return next(explainer for name, _, explainer in EXACT if name == method)(model, z, background)
