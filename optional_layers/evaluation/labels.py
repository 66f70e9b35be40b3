"""Fed-back labels checked against the predictions they score: one per predicted row, of the
type the predictions have; a refusal (FeedbackError) names the item and stores nothing."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from optional_layers.evaluation.judgement import Task


class FeedbackError(ValueError):
    """Feedback refused as a whole (nothing stored): the HTTP status and why, naming the item."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return type(value).__name__


def check_labels(task: Task, predictions: list, label: Any, where: str) -> list:
    """The label(s) of one request, one per predicted row, of the type its predictions have."""
    labels = label if isinstance(label, list) else [label]
    if len(labels) != len(predictions):
        raise FeedbackError(
            422,
            f"{where}: the request had {len(predictions)} rows; give "
            + ("one label" if len(predictions) == 1 else f"a list of {len(predictions)} labels"),
        )
    expected = _expected_kinds(task, predictions)
    for index, value in enumerate(labels):
        kind = _kind(value)
        if kind not in expected or (isinstance(value, float) and not math.isfinite(value)):
            at = where if len(labels) == 1 and not isinstance(label, list) else f"{where}.{index}"
            wanted = "a number" if task == "regression" else f"a class like the model's ({_describe(predictions[0])})"
            shown = (
                repr(value) if len(repr(value)) <= 200 else f"{repr(value)[:200]}... ({len(repr(value))} characters)"
            )
            raise FeedbackError(422, f"{at}: {shown} is not {wanted}")
    return labels


def _expected_kinds(task: Task, predictions: Iterable) -> set[str]:
    if task == "regression":
        return {"integer", "number"}
    kinds = {_kind(p) for p in predictions}
    return {"integer"} if kinds <= {"integer"} else kinds


def _describe(value: Any) -> str:
    return f"{type(value).__name__} {value!r}"
