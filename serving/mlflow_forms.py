"""MLflow's scoring protocol (`mlflow models serve`, SageMaker's container contract): the bodies of
`POST /invocations` turned into the data plane's inputs.

JSON with exactly one of `dataframe_split`, `dataframe_records` (the same tables as `/predict`),
`instances` or `inputs` (rows as lists: positional; as objects: records; an object of column lists:
columns), or `text/csv` with a header row. Everything else is refused naming what is wrong.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import orjson
import pandas as pd

from mlops_base.echo import quoted
from serving.columns import NAMED_FORMS, Table, table_of
from serving.inputs import Inputs, OtherForm, PayloadError, loads_wide, no_booleans, positional_rows, strict_rows

TENSOR_FORMS = ("instances", "inputs")
FORMS = (*NAMED_FORMS, *TENSOR_FORMS)


def _media(content_type: str | None) -> str:
    """The media type; 415 for one this protocol does not take, or a charset other than UTF-8."""
    if content_type is None:
        return "application/json"
    media, *parameters = (part.strip().lower() for part in content_type.split(";"))
    for parameter in parameters:
        key, _, value = parameter.partition("=")
        if key != "charset" or value.strip('"') != "utf-8":
            raise PayloadError(415, f"content type parameter {quoted(parameter)} is not accepted (only charset=utf-8)")
    if media not in ("application/json", "text/csv"):
        raise PayloadError(415, f"content type {quoted(media)} is not accepted; send application/json or text/csv")
    return media


def _csv(body: bytes) -> Inputs:
    try:
        frame = pd.read_csv(io.BytesIO(body))
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise PayloadError(422, f"text/csv: not a CSV table with a header row ({exc})") from exc
    rows = frame.astype(object).where(frame.notna(), None).to_numpy().tolist()
    return Inputs(Table("dataframe_split", [str(c) for c in frame.columns], rows))


def _tensor(form: str, value: Any, numbers_only: bool) -> Inputs:
    """`instances` / `inputs`: rows of values (positional), records, or {column: [values]}."""
    if type(value) is dict:
        names, columns = list(value), list(value.values())
        if not all(type(c) is list for c in columns) or len({len(c) for c in columns}) > 1:
            raise PayloadError(422, f"{form}: an object must map each column name to a list of equally many values")
        return Inputs(Table("dataframe_split", names, [list(row) for row in zip(*columns, strict=True)]))
    if type(value) is not list or not value:
        raise PayloadError(422, f"{form}: expected a non-empty list of rows or records, or an object of columns")
    if all(type(item) is dict for item in value):
        return Inputs(table_of("dataframe_records", value))
    return Inputs(positional_rows(value, form, numbers_only), where=form)


def parse_invocation(body: bytes, content_type: str | None, other_forms: bool = False) -> Inputs:
    """The body of an `/invocations` request as the data plane's inputs; PayloadError otherwise.
    `other_forms`: a layer provides rows for objects in none of the forms (e.g. `entity_ids`)."""
    if _media(content_type) == "text/csv":
        return _csv(body)
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        document = loads_wide(body)
        if document is None:
            return Inputs(strict_rows(body))  # names the JSON (or UTF-8) error as /predict does
    if type(document) is not dict:
        raise PayloadError(422, f"body must be a JSON object with one of {', '.join(FORMS)}")
    present = [form for form in FORMS if form in document]
    if not present and other_forms:
        return Inputs(OtherForm(document))
    extra = sorted(set(document) - set(FORMS))
    if len(present) != 1 or extra:
        raise PayloadError(
            422, f"body must have exactly one of {', '.join(FORMS)} and nothing else (keys: {sorted(document)[:6]})"
        )
    form = present[0]
    if form in NAMED_FORMS:
        return Inputs(table_of(form, document[form], no_booleans(body)))
    return _tensor(form, document[form], no_booleans(body))


def predictions_bytes(predictions: Any) -> bytes:
    """`{"predictions": [...]}`, as `mlflow models serve` answers."""
    values = predictions.tolist() if isinstance(predictions, np.ndarray) else predictions
    return orjson.dumps({"predictions": values})
