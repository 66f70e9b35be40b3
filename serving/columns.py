"""Named, typed inputs: MLflow's `dataframe_split` and `dataframe_records` bodies, checked against
the loaded model's signature and built into the frame the model was trained on.

Conventions match training (`core_assets.lib.schema.normalise`): numbers as float64 with NaN for
null, strings as objects with NaN for null, booleans as bool, or as objects with NaN when the
column may miss values. A missing or unknown column, or a value of the wrong kind, is a 422
naming the row and the column.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

import numpy as np
import pandas as pd

from mlops_base.column_kinds import SIGNATURE_KINDS, Kind
from mlops_base.echo import quoted
from serving.inputs import PayloadError

NamedForm = Literal["dataframe_split", "dataframe_records"]
NAMED_FORMS: tuple[NamedForm, ...] = ("dataframe_split", "dataframe_records")
TableForm = NamedForm | Literal["inputs"]  # "inputs": the Open Inference Protocol's, one input per column
_COLUMNS_AT = {"dataframe_split": "dataframe_split.columns", "inputs": "inputs"}
_ACCEPTS: dict[Kind, tuple[type, ...]] = {"number": (int, float), "string": (str,), "boolean": (bool,)}
_ARTICLE = {"number": "a number", "string": "a string", "boolean": "a boolean"}


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind
    required: bool  # False: the training data had missing values here, so null is accepted


def columns_of(inputs: list[dict]) -> list[Column]:
    """The model's input columns from its MLflow signature's inputs (the MLmodel file's JSON column
    specs); ValueError for a type it cannot take."""
    columns = []
    for spec in inputs:
        kind = SIGNATURE_KINDS.get(spec.get("type", ""))
        name = spec.get("name")
        if kind is None or name is None:
            kind_shown = spec.get("type") or spec.get("tensor-spec")
            raise ValueError(f"input {name!r} of type {kind_shown} is not a number, string or boolean column")
        columns.append(Column(name, kind, bool(spec.get("required", True))))
    return columns


class Table(NamedTuple):
    """A named-column body, checked for shape only (the model's columns are known later)."""

    form: TableForm
    columns: list[str] | None  # dataframe_split's (or the inputs' names); None for records
    rows: list  # lists (split) or dicts (records)
    # the body held no JSON booleans, so numpy reads its rows as numbers only when they are numbers
    numbers_only: bool = False


def table_of(form: NamedForm, value: Any, numbers_only: bool = False) -> Table:
    """The body's table, or a 422 naming what is malformed."""
    if form == "dataframe_split":
        if type(value) is not dict or type(value.get("columns")) is not list or type(value.get("data")) is not list:
            raise PayloadError(422, 'dataframe_split: expected {"columns": [names], "data": [[values], ...]}')
        names = value["columns"]
        if not all(type(name) is str for name in names) or len(set(names)) != len(names):
            raise PayloadError(422, "dataframe_split.columns: names must be distinct strings")
        for i, row in enumerate(value["data"]):
            if type(row) is not list or len(row) != len(names):
                raise PayloadError(422, f"dataframe_split.data.{i}: expected a list of {len(names)} values")
        return Table(form, names, value["data"], numbers_only)
    if type(value) is not list:
        raise PayloadError(422, "dataframe_records: expected a list of {column: value} objects")
    for i, record in enumerate(value):
        if type(record) is not dict:
            raise PayloadError(422, f"dataframe_records.{i}: expected a {{column: value}} object")
    return Table(form, None, value)


def _values(table: Table, column: Column) -> list:
    if table.columns is not None:  # split
        if column.name not in table.columns:
            if column.required:
                raise PayloadError(422, f"{_COLUMNS_AT[table.form]}: column {quoted(column.name)} is missing")
            return [None] * len(table.rows)
        j = table.columns.index(column.name)
        return [row[j] for row in table.rows]
    if column.required:
        for i, record in enumerate(table.rows):
            if column.name not in record:
                raise PayloadError(422, f"dataframe_records.{i}: column {quoted(column.name)} is missing")
    return [record.get(column.name) for record in table.rows]


def _unknown(table: Table, known: set[str], expected: str) -> None:
    if table.columns is not None:
        extra = [name for name in table.columns if name not in known]
        if extra:
            raise PayloadError(
                422, f"{_COLUMNS_AT[table.form]}: unknown column {quoted(extra[0])}; the model takes {expected}"
            )
        return
    for i, record in enumerate(table.rows):
        extra = [name for name in record if name not in known]
        if extra:
            raise PayloadError(
                422, f"dataframe_records.{i}: unknown column {quoted(extra[0])}; the model takes {expected}"
            )


def _where(table: Table, row: int, column: Column) -> str:
    if table.form == "inputs":
        return f"inputs.{column.name}.data.{row}"
    return f"dataframe_split.data.{row}" if table.columns is not None else f"dataframe_records.{row}"


_MAX_FLOAT_INT = int(np.finfo(np.float64).max)


def column_array(column: Column, values: Sequence, where=lambda row: f"row {row}") -> np.ndarray:
    """The values of one column as the model's frame holds them; a 422 at the first bad value."""
    accepted = _ACCEPTS[column.kind]
    for row, value in enumerate(values):
        if value is None:
            if column.required:
                raise PayloadError(422, f"{where(row)}: column {quoted(column.name)} may not be null")
        elif type(value) not in accepted:
            raise PayloadError(
                422, f"{where(row)}: column {quoted(column.name)} expects {_ARTICLE[column.kind]}, got {quoted(value)}"
            )
    if column.kind == "number":
        try:
            array = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
        except OverflowError:  # an integer of hundreds of digits: no float holds it
            row = next(i for i, v in enumerate(values) if type(v) is int and abs(v) > _MAX_FLOAT_INT)
            raise PayloadError(422, f"{where(row)}: column {quoted(column.name)} is too large a number") from None
        if np.isinf(array).any():
            raise PayloadError(422, f"{where(int(np.isinf(array).argmax()))}: column {quoted(column.name)} is infinite")
        return array
    if column.kind == "boolean" and column.required:
        return np.array(values, dtype=bool)
    return np.array([np.nan if v is None else v for v in values], dtype=object)


def to_frame(table: Table, columns: list[Column], max_rows: int) -> pd.DataFrame:
    """The table as the model's input frame (its columns, in signature order); 422s naming the row
    and the column of the first problem."""
    if not table.rows:
        raise PayloadError(422, f"{table.form}: at least one row is required")
    if len(table.rows) > max_rows:
        raise PayloadError(422, f"{table.form}: {len(table.rows)} rows; at most {max_rows} per request")
    _unknown(table, {c.name for c in columns}, describe(columns))
    data = {}
    for column in columns:
        values = _values(table, column)
        data[column.name] = column_array(column, values, lambda row, column=column: _where(table, row, column))
    return pd.DataFrame(data)


def frame_of(columns: list[Column], example: pd.DataFrame) -> pd.DataFrame:
    """A logged input example in the same conventions (the smoke test scores what requests send)."""
    data = {}
    for column in columns:
        values = [None if pd.isna(v) else (v.item() if hasattr(v, "item") else v) for v in example[column.name]]
        data[column.name] = column_array(column, values)
    return pd.DataFrame(data)


def describe(columns: list[Column]) -> str:
    return ", ".join(f"{c.name} ({c.kind}{'' if c.required else ', nullable'})" for c in columns)


def numeric_columns(names: Sequence[str]) -> list[Column]:
    """Required number columns: what a positional, all-numeric model takes."""
    return [Column(name, "number", True) for name in names]
