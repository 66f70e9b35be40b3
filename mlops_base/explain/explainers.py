"""Additive explanations of a model's answers, one attribution per input column: exact where the
model's form allows it (`mlops_base.explain.exact`), sampled here otherwise.

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
from mlops_base.explain.exact import NEEDS_BACKGROUND, classes_of, dense, exact_method, explain_exactly
from mlops_base.explain.kinds import Method, OutputKind

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


def _output_function(model) -> tuple[Callable[[Any], np.ndarray], OutputKind, list[str]]:
    """What a sampled explanation explains: class probabilities, else the prediction."""
    classes = classes_of(model)
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


def _plan(model, columns: list[str]) -> tuple[Any, Any, np.ndarray | None, Method | None]:
    """(the estimator explained, the preprocessing before it, the input column of each column it
    takes, the exact method); no columns and no method when no exact method explains it (Shapley
    sampling does, on the whole model)."""
    from sklearn.pipeline import Pipeline

    final, preprocessing = model, None
    if isinstance(model, Pipeline) and len(model.steps) > 1:
        final, preprocessing = model.steps[-1][1], model[:-1]
    method = exact_method(final)
    if method is None:
        return model, None, None, None
    try:
        sources = np.arange(len(columns)) if preprocessing is None else source_columns(preprocessing, columns)
    except Unmapped:
        return model, None, None, None
    return final, preprocessing, sources, method


def runs_in_python(model, columns: list[str]) -> bool:
    """Whether explaining `model` loops in Python (scikit-learn TreeSHAP, Shapley sampling), holding
    the GIL, rather than in C or numpy (LightGBM's and XGBoost's pred_contrib, linear models)."""
    return _plan(model, columns)[3] in (None, "tree_shap")


def is_exact(model, columns: list[str]) -> bool:
    """Whether an exact method explains `model` on these input columns (else Shapley sampling)."""
    return _plan(model, columns)[3] is not None


def explain(model, x: pd.DataFrame, background: pd.DataFrame | None) -> Explanation:
    """The explanation of `model`'s answers on the rows `x` (a frame of the model's input columns);
    `background`: rows of the training data (the mean a linear model's attributions are taken
    from, and what stands for a column left out in Shapley sampling; trees need none)."""
    columns = [str(c) for c in x.columns]
    final, preprocessing, sources, method = _plan(model, columns)
    if background is None and (method is None or method in NEEDS_BACKGROUND):
        raise NeedsBackground(f"{type(final).__name__} is explained against a background sample")
    if method is None:
        predict, kind, outputs = _output_function(model)  # the whole model, on its input columns
        base, phi, sampled = _shapley(predict, x, background)
        return Explanation(columns, outputs, kind, sampled, base, phi)
    made = (
        (lambda rows: rows.to_numpy(dtype=np.float64))
        if preprocessing is None
        else (lambda rows: dense(preprocessing.transform(rows)))
    )
    z = made(x)
    reference = made(background) if method in NEEDS_BACKGROUND else None
    base, phi_z, kind, outputs = explain_exactly(method, final, z, reference)
    into_source = np.zeros((len(sources), len(columns)))
    into_source[np.arange(len(sources)), sources] = 1.0
    phi = np.einsum("nwk,wc->nck", phi_z, into_source)  # each made column's share to its input column
    return Explanation(columns, outputs, kind, method, np.asarray(base, dtype=np.float64), phi)
