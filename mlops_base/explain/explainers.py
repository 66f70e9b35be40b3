"""Additive explanations of a model's answers, one attribution per input column: exact where the
model's form allows it, sampled otherwise.

- tree ensembles of scikit-learn (decision trees, random forests, extra trees, gradient boosting):
  path-dependent TreeSHAP (`tree_shap`), as the `shap` package's TreeExplainer computes it;
- LightGBM and XGBoost: the libraries' own `pred_contrib(s)` (the same algorithm, in C++);
- linear models (`coef_`, `intercept_`): exact, `coef * (z - mean z over the background)`, the
  `shap` package's LinearExplainer with an independent masker;
- anything else: Shapley values over the input columns with the background standing in for a
  column left out (interventional): every coalition when there are at most EXACT_MAX_COLUMNS
  columns, else antithetic permutations. Both add up exactly, by construction.

A scikit-learn `Pipeline` is explained at its final estimator, on the columns its preprocessing
makes, and those attributions are summed back to the input column each came from (`columns`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from mlops_base.explain.columns import Unmapped, source_columns
from mlops_base.explain.kinds import Method, OutputKind
from mlops_base.explain.tree_shap import Tree, tree_shap

EXACT_MAX_COLUMNS = 10
PERMUTATIONS = 64


class NeedsBackground(ValueError):
    """The method needs rows of the training data (a mean, or values for columns left out)."""


class Explanation(NamedTuple):
    """Per row and input column, how much it moved each output away from the base value: for every
    row, `base + phi.sum(axis=1)` is the model's output there (in `kind`'s units)."""

    columns: list[str]
    outputs: list[str]  # what each output is: a class, or "value"
    kind: OutputKind
    method: Method
    base: np.ndarray  # (outputs,)
    phi: np.ndarray  # (rows, columns, outputs)

    def output(self) -> np.ndarray:
        return self.base[None, :] + self.phi.sum(axis=1)

    def fields(self, allowed: frozenset[str] | None = None) -> dict[str, Any]:
        """The explanation as the server answers it and the prediction log keeps it: per row, each
        column's attributions (only the `allowed` columns', when given) and the output they add to."""
        values = self.output()
        kept = [(j, c) for j, c in enumerate(self.columns) if allowed is None or c in allowed]
        rows = [
            {"attributions": {c: self.phi[r, j].tolist() for j, c in kept}, "output_value": values[r].tolist()}
            for r in range(len(values))
        ]
        return {
            "output": self.kind,
            "method": self.method,
            "outputs": self.outputs,
            "base_value": self.base.tolist(),
            "explanations": rows,
        }


def _classes(model) -> list[str] | None:
    classes = getattr(model, "classes_", None)
    return None if classes is None else [str(c) for c in np.asarray(classes).tolist()]


def _dense(z) -> np.ndarray:
    return np.asarray(z.toarray() if hasattr(z, "toarray") else z, dtype=np.float64)


def _sklearn_tree(estimator, classifier: bool) -> Tree:
    t = estimator.tree_
    value = t.value[:, 0, :] if t.value.shape[1] == 1 else t.value[:, :, 0]
    if classifier:  # class fractions per node, as predict_proba averages them
        value = value / value.sum(axis=1, keepdims=True)
    return Tree(t.children_left, t.children_right, t.feature, t.threshold, value, t.weighted_n_node_samples)


def _trees(model, z: np.ndarray) -> tuple[np.ndarray, np.ndarray, OutputKind, list[str]]:
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
        names = _classes(model) if classifier else ["value"]
        return base, phi, ("log_odds" if classifier else "value"), (names[-1:] if outputs == 1 else names)
    estimators = getattr(model, "estimators_", [model])
    trees = [_sklearn_tree(e, classifier) for e in estimators]
    outputs = trees[0].value.shape[1]
    phi = np.zeros((len(z), z.shape[1], outputs))
    for tree in trees:
        tree_shap(tree, z32, phi)
    base = sum(tree.expected_value() for tree in trees) / len(trees)
    return base, phi / len(trees), ("probability" if classifier else "value"), (_classes(model) or ["value"])


def _lightgbm(model, z: np.ndarray) -> tuple[np.ndarray, np.ndarray, OutputKind, list[str]]:
    """LightGBM's own TreeSHAP (`pred_contrib`) on the booster, given floats: no frame to convert and
    no check of column names in Python, so the call holds the GIL only around the C library's."""
    contrib = np.asarray(model.booster_.predict(z, pred_contrib=True), dtype=np.float64)
    width = z.shape[1] + 1
    outputs = contrib.shape[1] // width
    blocks = contrib.reshape(len(z), outputs, width)  # per output: the columns, then the base
    phi = np.transpose(blocks[:, :, :-1], (0, 2, 1))
    classes = _classes(model)
    names = ["value"] if classes is None else (classes[-1:] if outputs == 1 else classes)
    return blocks[0, :, -1], phi, ("value" if classes is None else "log_odds"), names


def _xgboost(model, z) -> tuple[np.ndarray, np.ndarray, OutputKind, list[str]]:
    """XGBoost's own TreeSHAP (`pred_contribs`): per row, (outputs,) columns then the bias."""
    import xgboost

    booster = model.get_booster()  # given floats, named as it was fitted (no frame to convert)
    matrix = xgboost.DMatrix(z, feature_names=booster.feature_names)
    contrib = np.asarray(booster.predict(matrix, pred_contribs=True), dtype=np.float64)
    blocks = contrib[:, None, :] if contrib.ndim == 2 else contrib  # (rows, outputs, columns + 1)
    phi = np.transpose(blocks[:, :, :-1], (0, 2, 1))
    classes = _classes(model)
    names = ["value"] if classes is None else (classes[-1:] if blocks.shape[1] == 1 else classes)
    return blocks[0, :, -1], phi, ("value" if classes is None else "log_odds"), names


def _linear(model, z: np.ndarray, background: np.ndarray) -> tuple[np.ndarray, np.ndarray, OutputKind, list[str]]:
    coef = np.atleast_2d(np.asarray(model.coef_, dtype=np.float64))  # (outputs, columns)
    intercept = np.atleast_1d(np.asarray(model.intercept_, dtype=np.float64))
    mean = background.mean(axis=0)
    phi = (z - mean)[:, :, None] * coef.T[None, :, :]
    base = mean @ coef.T + intercept
    classes = _classes(model)
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


def _output_function(model) -> tuple[Callable[[Any], np.ndarray], OutputKind, list[str]]:
    """What a sampled explanation explains: class probabilities, else the prediction."""
    classes = _classes(model)
    if classes is not None and callable(getattr(model, "predict_proba", None)):
        return (lambda x: np.asarray(model.predict_proba(x), dtype=np.float64)), "probability", classes
    return (lambda x: np.asarray(model.predict(x), dtype=np.float64).reshape(len(x), 1)), "value", ["value"]


def _values(predict: Callable[[Any], np.ndarray], row: np.ndarray, background: pd.DataFrame, masks: np.ndarray):
    """The model's mean output over the background with, per mask, the row's values in the
    columns it marks: every coalition in one call of the model."""
    data = np.where(masks[:, None, :], row[None, None, :], background.to_numpy(dtype=object)[None, :, :])
    frame = pd.DataFrame(data.reshape(-1, row.shape[0]), columns=background.columns)
    frame = frame.astype(background.dtypes.to_dict())
    return predict(frame).reshape(len(masks), len(background), -1).mean(axis=1)


def _shapley(
    predict: Callable[[Any], np.ndarray], x: pd.DataFrame, background: pd.DataFrame, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, Method]:
    """Interventional Shapley values of `predict` on the rows of `x`, a column left out taken from
    the background rows (averaged over them): over every coalition (weighted |S|! (M-|S|-1)! / M!),
    or along PERMUTATIONS antithetic orders of the columns."""
    width = x.shape[1]
    base = predict(background).mean(axis=0)
    phi = np.zeros((len(x), width, len(base)))
    rows = x.to_numpy(dtype=object)
    exact = width <= EXACT_MAX_COLUMNS
    if exact:
        coalitions = np.arange(2**width)
        masks = ((coalitions[:, None] >> np.arange(width)) & 1).astype(bool)
        sizes = masks.sum(axis=1)
        weight = np.array([math.factorial(k) * math.factorial(width - k - 1) for k in range(width)] + [0])
        weight = weight / math.factorial(width)
        for r, row in enumerate(rows):
            v = _values(predict, row, background, masks)
            for j in range(width):
                without = coalitions[~masks[:, j]]
                phi[r, j] = (weight[sizes[without], None] * (v[without | (1 << j)] - v[without])).sum(axis=0)
        return base, phi, "exact_shapley"
    rng = np.random.default_rng(seed)
    orders = [order for o in (rng.permutation(width) for _ in range(PERMUTATIONS // 2)) for order in (o, o[::-1])]
    masks = np.zeros((len(orders), width + 1, width), dtype=bool)
    for p, order in enumerate(orders):
        for k in range(1, width + 1):
            masks[p, k, order[:k]] = True
    for r, row in enumerate(rows):
        v = _values(predict, row, background, masks.reshape(-1, width)).reshape(len(orders), width + 1, -1)
        for p, order in enumerate(orders):
            phi[r, order] += (v[p, 1:] - v[p, :-1]) / len(orders)
    return base, phi, "permutation_shapley"


def _plan(model, columns: list[str]) -> tuple[Any, Any, np.ndarray | None]:
    """(the estimator explained, the preprocessing before it, the input column of each column it
    takes); no columns when no exact method explains it (Shapley sampling does, on the whole model)."""
    from sklearn.pipeline import Pipeline

    final, preprocessing = model, None
    if isinstance(model, Pipeline) and len(model.steps) > 1:
        final, preprocessing = model.steps[-1][1], model[:-1]
    if not (_is_sklearn_trees(final) or _is_lightgbm(final) or _is_xgboost(final) or _is_linear(final)):
        return model, None, None
    try:
        sources = np.arange(len(columns)) if preprocessing is None else source_columns(preprocessing, columns)
    except Unmapped:
        return model, None, None
    return final, preprocessing, sources


def runs_in_python(model, columns: list[str]) -> bool:
    """Whether explaining `model` loops in Python (scikit-learn TreeSHAP, Shapley sampling), holding
    the GIL, rather than in C or numpy (LightGBM's and XGBoost's pred_contrib, linear models)."""
    final, _, sources = _plan(model, columns)
    return sources is None or _is_sklearn_trees(final)


def is_exact(model, columns: list[str]) -> bool:
    """Whether an exact method explains `model` on these input columns (else Shapley sampling)."""
    return _plan(model, columns)[2] is not None


def explain(model, x: pd.DataFrame, background: pd.DataFrame | None) -> Explanation:
    """The explanation of `model`'s answers on the rows `x` (a frame of the model's input columns);
    `background`: rows of the training data (the mean a linear model's attributions are taken
    from, and what stands for a column left out in Shapley sampling; trees need none)."""
    columns = [str(c) for c in x.columns]
    final, preprocessing, sources = _plan(model, columns)
    exact = sources is not None
    if background is None and not (exact and not _is_linear(final)):
        raise NeedsBackground(f"{type(final).__name__} is explained against a background sample")
    if not exact:
        predict, kind, outputs = _output_function(model)  # the whole model, on its input columns
        base, phi, method = _shapley(predict, x, background)
        return Explanation(columns, outputs, kind, method, base, phi)
    made = (
        (lambda rows: rows.to_numpy(dtype=np.float64))
        if preprocessing is None
        else (lambda rows: _dense(preprocessing.transform(rows)))
    )
    z = made(x)
    if _is_lightgbm(final):
        base, phi_z, kind, outputs = _lightgbm(final, z)
        method: Method = "lightgbm_pred_contrib"
    elif _is_xgboost(final):
        base, phi_z, kind, outputs = _xgboost(final, z)
        method = "xgboost_pred_contrib"
    elif _is_linear(final):
        base, phi_z, kind, outputs = _linear(final, z, made(background))
        method = "linear"
    else:
        base, phi_z, kind, outputs = _trees(final, z)
        method = "tree_shap"
    into_source = np.zeros((len(sources), len(columns)))
    into_source[np.arange(len(sources)), sources] = 1.0
    phi = np.einsum("nwk,wc->nck", phi_z, into_source)  # each made column's share to its input column
    return Explanation(columns, outputs, kind, method, np.asarray(base, dtype=np.float64), phi)
