"""A version's reference profile: what its training data and its predictions looked like, per
column, in a few kilobytes, so that live traffic can later be compared with it (the drift layer)
without the training data.

- a number: the share of missing values, 21 quantiles (minimum to maximum, each an observed
  value), and the shares of the reference rows in the bins those quantiles cut (BINS bins at most:
  tied quantiles merge; a bin below the first edge may be empty, then it holds what is lower than
  anything the reference had);
- a string or boolean: the share of missing values and each category's share, the MAX_CATEGORIES
  most frequent kept (names cut to MAX_NAME characters), the rest summed as `other_share`. A live
  value among none of them is "unseen": when `other_share` is 0 the reference never had it.

Each column's profile stays under 64 KiB whatever the data (tested). Live values are binned with
`numeric_bin` / `category_of`, the same functions that made the reference shares.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

PROFILE_ARTIFACT = "reference_profile.json"  # in the training run's artifacts
PROFILE_TAG = "mlops.reference_profile_sha256"  # on the run and the registered version
FORMAT = 1
BINS = 20
MAX_CATEGORIES = 256
MAX_NAME = 128
MAX_ROWS = 200_000  # rows profiled at most (a seeded sample of larger data)
ProfileKind = Literal["number", "category"]
PREDICTION = "prediction"  # the key of the predictions' profile


def numeric_bin(values: np.ndarray, edges: list[float]) -> np.ndarray:
    """The bin of each non-missing value: 0 below the first edge, i for edges[i-1] <= v < edges[i]."""
    import numpy as np

    return np.searchsorted(np.asarray(edges, dtype=np.float64), values, side="right")


def category_of(value: Any) -> str:
    """The name a category has in a profile (booleans and numbers as their text, cut to MAX_NAME)."""
    return str(value)[:MAX_NAME]


def _numeric(column: pd.Series) -> dict[str, Any]:
    import numpy as np

    values = column.to_numpy(dtype=np.float64, na_value=np.nan)
    present = values[~np.isnan(values)]
    profile: dict[str, Any] = {"kind": "number", "rows": int(values.size)}
    profile["missing_share"] = _share(values.size - present.size, values.size)
    finite = present[np.isfinite(present)]
    if finite.size == 0:
        return {**profile, "quantiles": [], "edges": [], "shares": [1.0] if present.size else []}
    quantiles = np.quantile(finite, np.linspace(0.0, 1.0, BINS + 1), method="inverted_cdf")  # observed values
    edges = np.unique(quantiles[1:-1])
    counts = np.bincount(numeric_bin(present, edges.tolist()), minlength=edges.size + 1)
    return {
        **profile,
        "mean": float(finite.mean()),
        "std": float(finite.std()),
        "quantiles": [float(q) for q in quantiles],
        "edges": [float(e) for e in edges],
        "shares": [_share(int(c), present.size) for c in counts],
    }


def _categorical(column: pd.Series) -> dict[str, Any]:
    present = column.dropna()
    counts: dict[str, int] = {}
    for value, count in present.map(category_of).value_counts(sort=True).items():
        counts[value] = counts.get(value, 0) + int(count)
    kept = dict(sorted(counts.items(), key=lambda item: -item[1])[:MAX_CATEGORIES])
    return {
        "kind": "category",
        "rows": int(column.size),
        "missing_share": _share(column.size - present.size, column.size),
        "categories": {name: _share(count, present.size) for name, count in kept.items()},
        "other_share": _share(present.size - sum(kept.values()), present.size),
    }


def _share(part: int, whole: int) -> float:
    return round(part / whole, 6) if whole else 0.0


def column_profile(column: pd.Series, kind: ProfileKind) -> dict[str, Any]:
    return _numeric(column) if kind == "number" else _categorical(column)


def sample(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows a profile is made of: all of them, or a seeded sample of MAX_ROWS in their order."""
    import numpy as np

    if len(frame) <= MAX_ROWS:
        return frame
    return frame.iloc[np.sort(np.random.default_rng(0).choice(len(frame), MAX_ROWS, replace=False))]


def build_profile(
    rows: pd.DataFrame, kinds: Mapping[str, str], predictions: Any, prediction_kind: ProfileKind
) -> dict[str, Any]:
    """The profile of the rows' columns (`kinds`: the schema's `number`, `string` or `boolean`) and
    of the model's predictions for them (`sample`'s rows, for large data)."""
    import pandas as pd

    predicted = pd.Series(list(predictions), dtype=object)
    if prediction_kind == "number":
        predicted = pd.to_numeric(predicted)
    prediction = column_profile(predicted, prediction_kind)
    return {"format": FORMAT, "rows": len(rows), "columns": input_profiles(rows, kinds), PREDICTION: prediction}


def input_profiles(rows: pd.DataFrame, kinds: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """Each input column's profile (`kinds`: the schema's `number`, `string` or `boolean`)."""
    return {
        name: column_profile(rows[name], "number" if kind == "number" else "category") for name, kind in kinds.items()
    }


def encode(profile: Mapping[str, Any]) -> tuple[bytes, str]:
    """The profile as the artifact holds it, and its SHA-256 (the version's tag)."""
    data = json.dumps(profile, sort_keys=True, separators=(",", ":")).encode()
    return data, hashlib.sha256(data).hexdigest()


def summary_markdown(profile: Mapping[str, Any]) -> str:
    """A table for the asset's page: per column, its kind, missing share and shape."""
    lines = ["| column | kind | missing | reference |", "|---|---|---|---|"]
    for name, column in [*profile["columns"].items(), (PREDICTION + " (the model's)", profile[PREDICTION])]:
        lines.append(f"| {name} | {column['kind']} | {column['missing_share']:.1%} | {_shape(column)} |")
    return "\n".join(lines)


def _shape(column: Mapping[str, Any]) -> str:
    if column["kind"] == "number":
        q = column["quantiles"]
        if not q:
            return "no finite values"
        return f"min {q[0]:.4g}, median {q[len(q) // 2]:.4g}, max {q[-1]:.4g}; {len(column['shares'])} bins"
    top = list(column["categories"].items())[:3]
    shown = ", ".join(f"{name} {share:.0%}" for name, share in top)
    more = len(column["categories"]) - len(top)
    other = column["other_share"]
    return shown + (f", {more} more" if more > 0 else "") + (f", other {other:.1%}" if other else "")
