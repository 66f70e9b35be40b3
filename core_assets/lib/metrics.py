"""Test-split metrics per task, and how the gate reads them (which way is better)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from mlops_base.settings import LOWER_IS_BETTER, GateMetric, Task

if TYPE_CHECKING:
    import numpy as np


def _probabilities(model, x) -> tuple[np.ndarray, list[Any]] | None:
    import numpy as np

    proba = getattr(model, "predict_proba", None)
    classes = getattr(model, "classes_", None)
    if not callable(proba) or classes is None:
        return None
    return np.asarray(proba(x)), list(classes)


def score(model, x, y_true, task: Task) -> tuple[dict[str, float], np.ndarray]:
    """The task's metrics of `model` on (x, y_true), and its predictions. Classification adds
    `roc_auc` and `log_loss` when the model gives class probabilities."""
    import numpy as np
    from sklearn import metrics

    predictions = np.asarray(model.predict(x))
    if task == "regression":
        return {
            "r2": float(metrics.r2_score(y_true, predictions)),
            "rmse": float(math.sqrt(metrics.mean_squared_error(y_true, predictions))),
            "mae": float(metrics.mean_absolute_error(y_true, predictions)),
        }, predictions
    result = {
        "accuracy": float(metrics.accuracy_score(y_true, predictions)),
        "f1_macro": float(metrics.f1_score(y_true, predictions, average="macro")),
    }
    probabilities = _probabilities(model, x)
    if probabilities is not None:
        proba, classes = probabilities
        result["log_loss"] = float(metrics.log_loss(y_true, proba, labels=classes))
        if len(classes) == 2:
            result["roc_auc"] = float(metrics.roc_auc_score(y_true, proba[:, 1]))
        elif set(y_true) == set(classes):  # one-vs-rest needs every class in the test split
            result["roc_auc"] = float(metrics.roc_auc_score(y_true, proba, multi_class="ovr", labels=classes))
    return result, predictions


def passes(metric: GateMetric, value: float, threshold: float) -> bool:
    """`value` meets `threshold`: a maximum for error metrics, a minimum otherwise."""
    return value <= threshold if metric in LOWER_IS_BETTER else value >= threshold


def regression_by(metric: GateMetric, challenger: float, champion: float) -> float:
    """How much worse the challenger is than the champion (negative: better)."""
    return challenger - champion if metric in LOWER_IS_BETTER else champion - challenger
