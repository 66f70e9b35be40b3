"""A batch chunk is checked as the model server checks each of its rows alone: a row the server
would refuse is refused for the same reason (the first bad column, in the model's order), a row it
takes becomes the same frame row (values and dtypes); a file whose columns are not the model's is
refused whole."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from serving.batch.checks import BatchInputError, check_columns, check_rows
from serving.columns import Column, Table, to_frame
from serving.inputs import PayloadError

COLUMNS = [
    Column("tenure", "number", True),
    Column("charges", "number", False),
    Column("plan", "string", True),
    Column("region", "string", False),
    Column("autopay", "boolean", True),
    Column("paperless", "boolean", False),
]
GOOD = {"tenure": 3, "charges": 20.5, "plan": "basic", "region": "west", "autopay": True, "paperless": False}
ROWS = [
    GOOD,
    {**GOOD, "charges": None, "region": None, "paperless": None},  # nullable columns left null
    {**GOOD, "tenure": None},  # required null
    {**GOOD, "plan": None, "tenure": None},  # two problems: the model's first column is named
    {**GOOD, "charges": math.inf},
    {**GOOD, "autopay": None, "region": None},
    {**GOOD, "tenure": 7, "charges": -1e300},
]
TYPES = {"number": pa.float64(), "string": pa.string(), "boolean": pa.bool_()}


def _server(row: dict) -> pd.DataFrame | str:
    """What the server makes of `row` alone: its frame, or its refusal without the location."""
    try:
        return to_frame(Table("dataframe_records", None, [row]), COLUMNS, 10)
    except PayloadError as exc:
        return exc.detail.split(": ", 1)[1]


def _table(rows: list[dict]) -> pa.Table:
    return pa.table({c.name: pa.array([row[c.name] for row in rows], type=TYPES[c.kind]) for c in COLUMNS})


def test_each_row_is_taken_or_refused_as_the_server_takes_or_refuses_it_alone():
    checked = check_rows(_table(ROWS), COLUMNS, first_row=100, typed=True)
    accepted = iter(range(len(checked.frame)))
    for i, row in enumerate(ROWS):
        server = _server(row)
        if isinstance(server, str):
            assert not checked.accepted[i] and checked.reasons[i] == f"row {100 + i}: {server}", (i, server)
            continue
        assert checked.accepted[i] and checked.reasons[i] is None
        mine = checked.frame.iloc[[next(accepted)]].reset_index(drop=True)
        pd.testing.assert_frame_equal(mine, server)  # the same values and dtypes
    assert checked.accepted.tolist() == [True, True, False, False, False, False, True]


def test_typed_columns_of_another_kind_are_refused_as_json_values_would_be():
    table = pa.table(
        {
            "tenure": pa.array(["5", None]),  # a string where a number goes: the server refuses "5"
            "plan": pa.array([1, 2]),
            "autopay": pa.array([1, 0]),
        }
    )
    columns = [Column("tenure", "number", False), Column("plan", "string", True), Column("autopay", "boolean", True)]
    checked = check_rows(table, columns, 0, typed=True)
    assert checked.reasons.tolist() == [
        "row 0: column 'tenure' expects a number, got '5'",
        "row 1: column 'plan' expects a string, got 2",
    ]


def test_csv_text_is_parsed_as_each_column_s_kind_and_a_value_that_does_not_parse_is_refused():
    table = pa.table(
        {
            "tenure": pa.array(["5", "x", None, "inf"]),
            "plan": pa.array(["basic", "pro", "pro", "pro"]),
            "autopay": pa.array(["true", "False", "yes", "TRUE"]),
        }
    )
    columns = [Column("tenure", "number", False), Column("plan", "string", True), Column("autopay", "boolean", True)]
    checked = check_rows(table, columns, 0, typed=False)
    assert checked.reasons.tolist() == [
        None,
        "row 1: column 'tenure' expects a number, got 'x'",
        "row 2: column 'autopay' expects a boolean, got 'yes'",
        "row 3: column 'tenure' is infinite",
    ]
    assert checked.frame["tenure"].tolist() == [5.0] and checked.frame["autopay"].dtype == np.bool_


def test_a_nullable_column_the_file_leaves_out_is_null_and_a_chunk_of_refusals_has_an_empty_frame():
    columns = [Column("tenure", "number", True), Column("region", "string", False)]
    checked = check_rows(pa.table({"tenure": pa.array([1.0, None])}), columns, 0, typed=True)
    assert checked.accepted.tolist() == [True, False]
    assert checked.frame["region"].isna().all() and list(checked.frame.columns) == ["tenure", "region"]
    refused = check_rows(pa.table({"tenure": pa.array([None], type=pa.float64())}), columns, 0, typed=True)
    assert len(refused.frame) == 0


@pytest.mark.parametrize(
    ("names", "why"),
    [
        (["tenure", "plan", "autopay", "colour"], "unknown column 'colour'"),
        (["tenure", "autopay"], "column 'plan' is missing"),
    ],
)
def test_a_file_whose_columns_are_not_the_model_s_is_refused_whole(names, why):
    with pytest.raises(BatchInputError, match=why):
        check_columns(names, COLUMNS)


def test_the_id_column_is_kept_aside_not_refused():
    check_columns(["customer_id", *[c.name for c in COLUMNS]], COLUMNS, kept=["customer_id"])
