"""`mlops predict`'s input: JSON bodies pass as they are, rows become the server's forms, CSV a
named table whose empty cells are missing values; anything else is one clear error."""

from __future__ import annotations

import pytest

from mlops_platform.predict import BadInput, body


def test_json_bodies_rows_and_records():
    assert body('{"dataframe_records": [{"x": 1}]}') == {"dataframe_records": [{"x": 1}]}
    assert body("[[1, 2], [3, 4]]") == {"data": [[1, 2], [3, 4]]}
    assert body('[{"plan": "basic", "tenure": 12}]') == {"dataframe_records": [{"plan": "basic", "tenure": 12}]}
    assert body('{"plan": "basic"}') == {"dataframe_records": [{"plan": "basic"}]}


def test_csv_becomes_a_named_table_with_missing_values():
    assert body("plan,tenure\nbasic,12\n,40.5\n") == {
        "dataframe_split": {"columns": ["plan", "tenure"], "data": [["basic", 12.0], [None, 40.5]]}
    }
    assert body("[x]\n1\n", kind="csv")["dataframe_split"]["columns"] == ["[x]"]  # the suffix decides


@pytest.mark.parametrize(
    ("text", "kind", "says"),
    [
        ("", None, "no input"),
        ("{not json", None, "not valid JSON"),
        ("[1, 2]", None, "a list of objects or a list of rows"),
        ("a,b\n1\n", None, "CSV line 2 has 1 cells, the header 2"),
        ("a,b\n", None, "a header row and at least one row"),
    ],
)
def test_bad_input_is_one_clear_error(text, kind, says):
    with pytest.raises(BadInput, match=says):
        body(text, kind)
