"""A chunk of a batch input checked as the model server checks a request's rows, a column at a time.

The server refuses a whole request at its first bad value (`serving.columns.column_array`); a
batch refuses only that row, for the same reason: the first column, in the model's order, whose
value the server would refuse (null in a required column, a value of another kind, an infinite
number). The accepted rows become the frame the server builds (`serving.columns.to_frame`): numbers
as float64 with NaN for null, strings as objects with NaN for null, booleans as bool (objects with
NaN when nullable), so the model answers them exactly as it answers `/predict`.

Parquet columns arrive typed and are taken as JSON values would be (a string where a number is
expected is refused, as the server refuses `"5"`). CSV has no types: a model's column is read as
text and parsed as its kind (a number, `true`/`false`), a value that does not parse refused.
A column the model does not take, or a required one missing, is the file's problem, not a row's:
`BatchInputError`, and nothing is scored.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa

from mlops_base.echo import quoted
from serving.columns import Column, describe

_ARTICLE = {"number": "a number", "string": "a string", "boolean": "a boolean"}
_TRUTH = {"true": True, "false": False}


class BatchInputError(ValueError):
    """The input cannot be scored at all (its columns are not the model's)."""


class Checked(NamedTuple):
    frame: pd.DataFrame  # the accepted rows as the model server's frame, the model's columns in order
    accepted: np.ndarray  # bool, one per row of the chunk
    reasons: np.ndarray  # object: None for an accepted row, else why the server would refuse it


def check_columns(names: Sequence[str], columns: list[Column], kept: Sequence[str] = ()) -> None:
    """BatchInputError unless the input's columns are the model's (`kept` ones aside, e.g. an id)."""
    known = {c.name for c in columns}
    unknown = [name for name in names if name not in known and name not in kept]
    if unknown:
        raise BatchInputError(f"unknown column {quoted(unknown[0])}; the model takes {describe(columns)}")
    missing = [c.name for c in columns if c.required and c.name not in names]
    if missing:
        raise BatchInputError(f"column {quoted(missing[0])} is missing; the model takes {describe(columns)}")


def check_rows(chunk: pa.Table, columns: list[Column], first_row: int, typed: bool) -> Checked:
    """`chunk`'s rows checked against the model's columns (`check_columns` passed); `first_row` is
    its first row's number in the whole input (the reasons name rows by it); `typed`: Parquet's
    types, else CSV's text."""
    n = chunk.num_rows
    reasons = np.full(n, None, dtype=object)
    data = {}
    for column in columns:
        if column.name in chunk.column_names:
            values, refused = _values(chunk.column(column.name), column, typed)
        else:  # a nullable column the input leaves out: null, as the server takes it
            values, refused = np.full(n, np.nan, dtype=object if column.kind != "number" else np.float64), {}
        for problem, mask in refused.items():
            _note(reasons, mask, column, problem, first_row, chunk.column(column.name))
        data[column.name] = values
    accepted = np.equal(reasons, None)
    frame = pd.DataFrame({name: values[accepted] for name, values in data.items()})
    for column in columns:
        if column.kind == "boolean" and column.required:
            frame[column.name] = frame[column.name].astype(bool)
    return Checked(frame, accepted, reasons)


def _note(reasons: np.ndarray, mask: np.ndarray, column: Column, problem: str, first_row: int, raw) -> None:
    """Each row of `mask` not refused already (an earlier column's reason comes first) refused."""
    for i in np.flatnonzero(mask & np.equal(reasons, None)):
        value = raw[int(i)].as_py() if problem == "kind" else None
        if problem == "null":
            why = f"column {quoted(column.name)} may not be null"
        elif problem == "infinite":
            why = f"column {quoted(column.name)} is infinite"
        else:
            why = f"column {quoted(column.name)} expects {_ARTICLE[column.kind]}, got {quoted(value)}"
        reasons[i] = f"row {first_row + int(i)}: {why}"


def _values(array: pa.ChunkedArray, column: Column, typed: bool) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The column as the server's frame holds it, and per problem the rows it refuses."""
    null = np.asarray(array.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    kind = array.type
    if column.kind == "number":
        values, wrong = _numbers(array, null, typed)
        null = null | (np.isnan(values) & ~wrong)  # NaN is null: JSON has no NaN, the frame's null is NaN
        refused = {"kind": wrong, "infinite": np.isinf(values)}
    elif column.kind == "string":
        values = np.asarray(array.to_numpy(zero_copy_only=False), dtype=object)
        refused = {} if _is_text(kind) or pa.types.is_null(kind) else {"kind": ~null}
    else:
        values, wrong = _booleans(array, null, typed)
        refused = {"kind": wrong}
    if column.required:
        refused = {"null": null, **refused}
    if column.kind != "number":
        values = np.where(null, np.nan, values).astype(object) if null.any() else values
    return values, {problem: mask for problem, mask in refused.items() if mask.any()}


def _numbers(array: pa.ChunkedArray, null: np.ndarray, typed: bool) -> tuple[np.ndarray, np.ndarray]:
    kind = array.type
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind) or pa.types.is_null(kind):
        values = array.cast(pa.float64()).to_numpy(zero_copy_only=False)
        return np.asarray(values, dtype=np.float64), np.zeros(len(null), dtype=bool)
    if typed or not _is_text(kind):  # Parquet's "5", a bool...
        return np.full(len(null), np.nan), ~null
    parsed = pd.to_numeric(pd.Series(array.to_numpy(zero_copy_only=False), dtype=object), errors="coerce")
    values = parsed.to_numpy(dtype=np.float64, na_value=np.nan)
    return values, np.isnan(values) & ~null


def _booleans(array: pa.ChunkedArray, null: np.ndarray, typed: bool) -> tuple[np.ndarray, np.ndarray]:
    kind = array.type
    if pa.types.is_boolean(kind) or pa.types.is_null(kind):
        values = np.asarray(array.to_numpy(zero_copy_only=False), dtype=object)
        return values, np.zeros(len(null), dtype=bool)
    if typed or not _is_text(kind):
        return np.full(len(null), np.nan, dtype=object), ~null
    text = pd.Series(array.to_numpy(zero_copy_only=False), dtype=object).str.lower()
    values = text.map(_TRUTH).to_numpy(dtype=object)
    return values, pd.isna(values) & ~null


def _is_text(kind: pa.DataType) -> bool:
    return pa.types.is_string(kind) or pa.types.is_large_string(kind)
