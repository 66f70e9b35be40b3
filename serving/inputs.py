"""The data plane's input vocabulary, shared by every protocol's codec: what a request scores
(`Inputs`: positional rows, a named-column table, or another form a layer reads), the checks on
rows every protocol applies, and the error they raise (`PayloadError`: a 4xx naming the problem)."""

from __future__ import annotations

import json
import zlib
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import orjson
from pydantic import ValidationError

from mlops_base.echo import quoted
from serving.schemas import PredictRequest

if TYPE_CHECKING:
    from serving.columns import Table


class PayloadError(ValueError):
    """The error every body check raises: answered with its status and detail, never a 500."""

    def __init__(self, status: int, detail: str):
        super().__init__(detail)
        self.status = status
        self.detail = detail


Rows = np.ndarray | list[list[float]]
"""A 2-D float64 array, or (ragged input only) the validated rows, so the shape error names the row."""


def check_json(content_type: str | None) -> None:
    """415 for a body declared as anything but JSON (forms, multipart, text); none declared is read as JSON."""
    if content_type is None:
        return
    media = content_type.split(";", 1)[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        raise PayloadError(415, f"content type {quoted(media or content_type)} is not accepted; send application/json")


def _describe(error: dict) -> str:
    if error.get("type") == "json_invalid":
        return f"body is not valid JSON ({error.get('ctx', {}).get('error', 'parse error')})"
    where = ".".join(str(part) for part in error.get("loc", ()))
    return f"{where or 'body'}: {error.get('msg', 'invalid')}"


def describe_errors(errors: list[dict]) -> str:
    shown = "; ".join(_describe(e) for e in errors[:5])
    return shown + (f" (and {len(errors) - 5} more)" if len(errors) > 5 else "")


def numeric_array(data: Any) -> np.ndarray | None:
    """Rows as a 2-D float64 array when they are finite numbers only (booleans aside: see callers), else None."""
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


def strict_rows(body: bytes) -> Rows:
    """`{\"data\": rows}` through the strict model: the rows, or a PayloadError naming what is wrong."""
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


def positional_rows(value: Any, where: str, numbers_only: bool) -> Rows:
    """Rows given as a JSON value already parsed (another protocol's field `where`): the fast path's
    array (`numbers_only`: its body held no booleans), or the strict model's errors naming the row
    and column."""
    array = numeric_array(value) if numbers_only else None
    if array is not None:
        return array
    try:
        return strict_rows(orjson.dumps({"data": value}))
    except TypeError as exc:  # what orjson cannot write: too deep a nesting (254 levels), too large an integer
        problem = "rows nested too deep" if "ecursion" in str(exc) else "a number too large for a float"
        raise PayloadError(422, f"{where}: {problem}") from exc
    except PayloadError as exc:
        raise PayloadError(exc.status, exc.detail.replace("data", where, 1)) from exc


class OtherForm(dict):
    """A JSON object body in none of the forms, left for a layer to turn into rows (e.g. `entity_ids`)."""


class Inputs(NamedTuple):
    rows: Rows | Table | OtherForm
    return_proba: bool = False
    where: str = "data"  # what errors in positional rows are named after (another protocol's field)
    proba_if_any: bool = False  # probabilities too when the model has them (a v2 request listing no outputs)
    explain: bool = False  # the answer carries the rows' explanations too (`/predict` with "explain": true)


def decompress(body: bytes, encoding: str | None, max_bytes: int) -> bytes:
    """A gzip or deflate body (tritonclient's request compression; gzip of one member or several),
    at most `max_bytes` once inflated; a truncated or corrupt one is a 400 that says so."""
    if encoding in (None, "", "identity"):
        return body
    if encoding not in ("gzip", "deflate"):
        raise PayloadError(415, f"content encoding {quoted(encoding)} is not accepted (gzip, deflate or none)")
    inflated, rest = bytearray(), body
    while True:
        inflater = zlib.decompressobj(wbits=31 if encoding == "gzip" else 15)
        try:
            inflated += inflater.decompress(rest, max_bytes + 1 - len(inflated))
        except zlib.error as exc:
            raise PayloadError(400, f"body is not {encoding} data ({exc})") from exc
        if len(inflated) > max_bytes:
            raise PayloadError(413, f"request body exceeds {max_bytes} bytes once inflated")
        if not inflater.eof:
            raise PayloadError(400, f"body is truncated {encoding} data (it ends inside the stream)")
        rest = inflater.unused_data
        if encoding != "gzip" or not rest:  # gzip: the members follow one another
            return bytes(inflated)


def _refuse(constant: str) -> None:
    raise ValueError(f"{constant} is not JSON")


def loads_wide(body: bytes) -> Any:
    """JSON that orjson refuses only for a number too large for a float (the checks then name it),
    else None."""
    try:
        return json.loads(body, parse_constant=_refuse)
    except (ValueError, RecursionError):
        return None


def no_booleans(body: bytes) -> bool:
    return b"true" not in body and b"false" not in body


def check_shape(rows: Rows, feature_names: list[str], max_rows: int, where: str = "data") -> np.ndarray:
    """The rows as an (n, n_features) array, or a 422 naming the first row of the wrong width."""
    if len(rows) == 0:
        raise PayloadError(422, f"{where}: at least one row is required")
    if len(rows) > max_rows:
        raise PayloadError(422, f"{where}: {len(rows)} rows; at most {max_rows} per request")
    expected = len(feature_names)
    if isinstance(rows, np.ndarray):
        if rows.shape[1] == expected:
            return rows
        first, width = 0, rows.shape[1]
    else:  # ragged: some rows differ from the others
        first, width = next((i, len(row)) for i, row in enumerate(rows) if len(row) != expected)
    raise PayloadError(
        422, f"{where}.{first}: {width} features; the model expects {expected} ({', '.join(feature_names)})"
    )
