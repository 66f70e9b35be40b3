"""Request bodies to feature arrays and predictions to response bytes, without building rows twice.

The fast path parses with orjson and lets numpy build the 2-D float array in C. Anything it cannot
prove valid (strings, booleans, nulls, ragged rows, nesting, huge integers, bad JSON) goes to the
strict pydantic model, which names the row and the column of the problem; so the errors are the
same as with pydantic alone, and valid bodies never pay for it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson
from pydantic import ValidationError

from serving.schemas import PredictRequest

Rows = np.ndarray | list[list[float]]
"""A 2-D float64 array, or (ragged input only) the validated rows, so the shape error names the row."""


class PayloadError(ValueError):
    def __init__(self, status: int, detail: str):
        super().__init__(detail)
        self.status = status
        self.detail = detail


def check_json(content_type: str | None) -> None:
    """415 for a body declared as anything but JSON (forms, multipart, text); none declared is read as JSON."""
    if content_type is None:
        return
    media = content_type.split(";", 1)[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        raise PayloadError(415, f"content type {media or content_type!r} is not accepted; send application/json")


def _describe(error: dict) -> str:
    if error.get("type") == "json_invalid":
        return f"body is not valid JSON ({error.get('ctx', {}).get('error', 'parse error')})"
    where = ".".join(str(part) for part in error.get("loc", ()))
    return f"{where or 'body'}: {error.get('msg', 'invalid')}"


def describe_errors(errors: list[dict]) -> str:
    shown = "; ".join(_describe(e) for e in errors[:5])
    return shown + (f" (and {len(errors) - 5} more)" if len(errors) > 5 else "")


def _fast(body: bytes) -> np.ndarray | None:
    if b"true" in body or b"false" in body:  # numpy would turn booleans into 1.0/0.0
        return None
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    data = document.get("data") if type(document) is dict else None
    if type(data) is not list or not data:
        return None
    try:
        array = np.array(data)  # no dtype: strings and nulls show up as a non-numeric dtype
    except ValueError:  # ragged
        return None
    if array.ndim != 2 or array.dtype.kind not in "fi":
        return None
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        return None
    return array.astype(np.float64, copy=False)


def _strict(body: bytes) -> Rows:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PayloadError(400, f"body is not UTF-8 JSON ({exc.reason} at byte {exc.start})") from exc
    try:
        rows = PredictRequest.model_validate_json(body).data
    except ValidationError as exc:
        raise PayloadError(422, describe_errors(exc.errors(include_url=False))) from exc
    if rows and len({len(row) for row in rows}) == 1:
        return np.array(rows, dtype=np.float64)
    return rows


class OtherForm(dict):
    """A JSON object body without `data`, left for a layer to turn into rows (e.g. `entity_ids`)."""


def _other_form(body: bytes) -> OtherForm | None:
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return OtherForm(document) if type(document) is dict and "data" not in document else None


def parse_rows(body: bytes, other_forms: bool = False) -> Rows | OtherForm:
    """The body's `data` as a float64 array; PayloadError (400/422) naming what is wrong otherwise.

    With `other_forms` (a layer provides rows for them), an object without `data` is returned as is.
    """
    array = _fast(body)
    if array is not None:
        return array
    other = _other_form(body) if other_forms else None
    return other if other is not None else _strict(body)


def check_shape(rows: Rows, feature_names: list[str], max_rows: int) -> np.ndarray:
    """The rows as an (n, n_features) array, or a 422 naming the first row of the wrong width."""
    if len(rows) == 0:
        raise PayloadError(422, "data: at least one row is required")
    if len(rows) > max_rows:
        raise PayloadError(422, f"data: {len(rows)} rows; at most {max_rows} per request")
    expected = len(feature_names)
    if isinstance(rows, np.ndarray):
        if rows.shape[1] == expected:
            return rows
        first, width = 0, rows.shape[1]
    else:  # ragged: some rows differ from the others
        first, width = next((i, len(row)) for i, row in enumerate(rows) if len(row) != expected)
    raise PayloadError(
        422, f"data.{first}: {width} features; the model expects {expected} ({', '.join(feature_names)})"
    )


def plain(predictions: Any) -> Any:
    """Predictions in a form orjson writes natively (numeric arrays as is, others as lists)."""
    if isinstance(predictions, np.ndarray) and (predictions.dtype.kind not in "biuf" or predictions.ndim != 1):
        return predictions.tolist()
    return predictions


def answer_bytes(variant: str, version: str, run_id: str, predictions: Any) -> bytes:
    return orjson.dumps(
        {"variant": variant, "version": version, "run_id": run_id, "predictions": plain(predictions)},
        option=orjson.OPT_SERIALIZE_NUMPY,
    )
