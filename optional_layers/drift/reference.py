"""A reference profile's column as the bins live values are counted in, with their probabilities.

Bin 0 holds missing values. A number's other bins are the profile's quantile bins; a category's are
its kept categories, then one last bin for any other value: the reference's `other_share` (its
categories beyond MAX_CATEGORIES) and values it never had ("unseen") alike.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mlops_base.reference_profile import category_of, numeric_bin
from optional_layers.drift.sequential import smoothed


@dataclass(frozen=True)
class Bins:
    kind: str  # "number" or "category"
    probabilities: np.ndarray  # per bin, none zero
    edges: list[float]
    categories: Mapping[str, int]  # a category's name -> its bin

    @property
    def size(self) -> int:
        return self.probabilities.size

    def counts(self, values: Sequence[Any]) -> np.ndarray:
        """How many of `values` fall in each bin."""
        return np.bincount(self.indices(values), minlength=self.size)

    def indices(self, values: Sequence[Any]) -> np.ndarray:
        """The bin of each of `values`."""
        if self.kind == "number":
            numbers = _numbers(values)
            missing = np.isnan(numbers)
            where = numeric_bin(np.where(missing, 0.0, numbers), self.edges) + 1
            where[missing] = 0
            return where
        column = np.asarray(values)
        if column.dtype.kind in "biuf":  # e.g. a classifier's labels: unique values first, then their names
            missing = np.isnan(column) if column.dtype.kind == "f" else np.zeros(column.shape, dtype=bool)
            names, inverse = np.unique(column[~missing], return_inverse=True)
        else:
            column = column.astype(object)
            missing = pd.isna(column)
            names, inverse = np.unique(column[~missing].astype(str), return_inverse=True)
        bins = np.array([self.categories.get(category_of(name), self.size - 1) for name in names], dtype=np.int64)
        where = np.zeros(column.size, dtype=np.int64)
        where[~missing] = bins[inverse]
        return where

    @property
    def labels(self) -> list[str]:
        """A name per bin, for people: `missing`, then the ranges or the categories."""
        if self.kind == "category":
            return ["missing", *self.categories, "other or unseen"]
        edges = [f"{e:.4g}" for e in self.edges]
        if not edges:
            return ["missing", "present"]
        middle = [f"[{low}, {high})" for low, high in zip(edges, edges[1:], strict=False)]
        return ["missing", f"< {edges[0]}", *middle, f">= {edges[-1]}"]


def _numbers(values: Sequence[Any]) -> np.ndarray:
    try:
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):  # e.g. text in a column the reference had as numbers: not a number
        return pd.to_numeric(pd.Series(np.asarray(values, dtype=object)), errors="coerce").to_numpy(np.float64)


def bins_of(column: Mapping[str, Any]) -> Bins:
    """The bins of one column of a reference profile (`mlops_base.reference_profile`)."""
    missing, rows = column["missing_share"], max(int(column["rows"]), 1)
    if column["kind"] == "number":
        present = column["shares"] or [1.0]  # no finite value: one bin for whatever is present
        shares = [missing, *((1 - missing) * share for share in present)]
        return Bins("number", smoothed(np.array(shares), rows), list(column["edges"]), {})
    names = list(column["categories"])
    shares = [missing, *((1 - missing) * column["categories"][n] for n in names), (1 - missing) * column["other_share"]]
    return Bins("category", smoothed(np.array(shares), rows), [], {name: i + 1 for i, name in enumerate(names)})
