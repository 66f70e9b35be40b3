"""Which input column each column a scikit-learn preprocessing makes comes from, so that attributions
of the final estimator's columns (a one-hot encoder's, a scaler's) add up to one per input column.

Read from public attributes only: a `ColumnTransformer`'s `transformers_` and `output_indices_`, a
`OneHotEncoder`'s `categories_` and `drop_idx_`, and for any other step `get_feature_names_out`:
a step that keeps the width keeps the columns in order. A step this cannot follow raises
`Unmapped` (the caller explains on the input columns directly instead)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


class Unmapped(ValueError):
    """A preprocessing step whose output columns cannot be traced to its input columns."""


def _positions(selection, names: Sequence[str]) -> np.ndarray:
    """A ColumnTransformer's column selection (names, positions, a slice or a mask) as positions."""
    if isinstance(selection, slice):
        return np.arange(len(names))[selection]
    chosen = np.atleast_1d(np.asarray(selection))
    if chosen.dtype == bool:
        return np.flatnonzero(chosen)
    if chosen.dtype.kind in "iu":
        return chosen.astype(int)
    index = {name: i for i, name in enumerate(names)}
    try:
        return np.array([index[str(name)] for name in chosen], dtype=int)
    except KeyError as exc:
        raise Unmapped(f"column {exc} is not among the step's inputs") from exc


def _one_hot(encoder, width: int) -> np.ndarray:
    if getattr(encoder, "infrequent_categories_", None) is not None and any(
        c is not None for c in encoder.infrequent_categories_
    ):
        raise Unmapped("a one-hot encoder grouping infrequent categories")
    drops = encoder.drop_idx_ if encoder.drop_idx_ is not None else [None] * width
    widths = [len(categories) - (drop is not None) for categories, drop in zip(encoder.categories_, drops, strict=True)]
    return np.repeat(np.arange(width), widths)


def source_columns(step, names: Sequence[str]) -> np.ndarray:
    """For each output column of the fitted `step`, the position of the input column (among `names`)
    it comes from."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    if step is None or step == "passthrough":
        return np.arange(len(names))
    if isinstance(step, Pipeline):
        sources = np.arange(len(names))
        current = list(names)
        for _, inner in step.steps:
            inner_sources = source_columns(inner, current)
            sources = sources[inner_sources]
            current = [f"x{i}" for i in range(len(inner_sources))]
        return sources
    if isinstance(step, ColumnTransformer):
        width = max((s.stop for s in step.output_indices_.values()), default=0)
        sources = np.full(width, -1)
        for name, transformer, selection in step.transformers_:
            span = step.output_indices_[name]
            if transformer == "drop" or span.stop == span.start:
                continue
            chosen = _positions(selection, names)
            sources[span] = chosen[source_columns(transformer, [names[i] for i in chosen])]
        if (sources < 0).any():
            raise Unmapped("a column transformer's output not traced to an input")
        return sources
    if isinstance(step, OneHotEncoder):
        return _one_hot(step, len(names))
    try:
        width = len(step.get_feature_names_out())
    except Exception as exc:  # a step without feature names out: unknown width
        raise Unmapped(f"{type(step).__name__} does not name its output columns") from exc
    if width != len(names):
        raise Unmapped(f"{type(step).__name__} turns {len(names)} columns into {width}")
    return np.arange(len(names))
