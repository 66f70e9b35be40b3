"""`mlops predict`: rows from a JSON or CSV file (or stdin) to the model server's `/predict`.

JSON is sent as it is when it is already a request body (`data`, `dataframe_split` or
`dataframe_records`); a list of objects becomes `dataframe_records`, a list of lists `data`. CSV
needs a header row and becomes `dataframe_split`: an empty cell is a missing value, a number a
number, anything else a string, so the model's schema decides, exactly as over HTTP.
"""

from __future__ import annotations

import csv
import io
import json

import httpx

BODY_KEYS = ("data", "dataframe_split", "dataframe_records")


class BadInput(ValueError):
    pass


def _cell(text: str) -> float | str | None:
    if text == "":
        return None
    try:
        return float(text)
    except ValueError:
        return text


def from_csv(text: str) -> dict:
    rows = list(csv.reader(io.StringIO(text)))
    if len(rows) < 2:
        raise BadInput("CSV input needs a header row and at least one row")
    columns, data = rows[0], rows[1:]
    for number, row in enumerate(data, 2):
        if len(row) != len(columns):
            raise BadInput(f"CSV line {number} has {len(row)} cells, the header {len(columns)}")
    return {"dataframe_split": {"columns": columns, "data": [[_cell(c) for c in row] for row in data]}}


def body(text: str, kind: str | None = None) -> dict:
    """The request body for `text`; `kind` ("json" or "csv") from the file's suffix, else guessed."""
    stripped = text.strip()
    if not stripped:
        raise BadInput("no input: give a JSON or CSV file, or pipe one to stdin")
    if kind == "csv" or (kind is None and stripped[0] not in "[{"):
        return from_csv(stripped)
    try:
        parsed = json.loads(stripped)
    except json.JSONDecodeError as exc:
        raise BadInput(f"input is not valid JSON ({exc})") from exc
    if isinstance(parsed, dict) and any(key in parsed for key in BODY_KEYS):
        return parsed
    if isinstance(parsed, dict):
        parsed = [parsed]  # one row as an object
    if isinstance(parsed, list) and parsed and all(isinstance(row, dict) for row in parsed):
        return {"dataframe_records": parsed}
    if isinstance(parsed, list) and parsed and all(isinstance(row, list) for row in parsed):
        return {"data": parsed}
    raise BadInput(f"JSON input must be a request body ({', '.join(BODY_KEYS)}), a list of objects or a list of rows")


def predict(
    url: str, request: dict, variant: str | None = None, client_id: str | None = None, token: str = ""
) -> httpx.Response:
    """`token`: the env's PREDICT_TOKEN, when the server asks for one."""
    path = f"/variant/{variant}/predict" if variant else "/predict"
    headers = {"x-client-id": client_id} if client_id else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return httpx.post(f"{url}{path}", json=request, headers=headers, timeout=60)
