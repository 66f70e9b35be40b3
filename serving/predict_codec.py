"""`/predict`'s codec: request bodies to model inputs and predictions to response bytes, without
building rows twice.

Three body forms: positional `data` rows (all-numeric models), and MLflow's named-column
`dataframe_split` / `dataframe_records` (checked against the model's columns in `serving.columns`).
The positional fast path parses with orjson and lets numpy build the 2-D float array in C. Anything
it cannot prove valid (strings, booleans, nulls, ragged rows, nesting, huge integers, bad JSON)
goes to the strict pydantic model, which names the row and the column of the problem; so the
errors are the same as with pydantic alone, and valid bodies never pay for it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson

from mlops_base.echo import quoted
from serving.columns import NAMED_FORMS, table_of
from serving.inputs import Inputs, OtherForm, PayloadError, loads_wide, no_booleans, numeric_array, strict_rows

FORMS = ("data", *NAMED_FORMS)


def _forms(document: dict, body: bytes, other_forms: bool) -> Inputs:
    proba, explain = document.get("return_proba", False), document.get("explain", False)
    for name, flag in (("return_proba", proba), ("explain", explain)):
        if type(flag) is not bool:
            raise PayloadError(422, f"{name}: expected true or false, got {quoted(flag)}")
    present = [form for form in FORMS if form in document]
    if len(present) > 1:
        raise PayloadError(422, f"body has {' and '.join(present)}; send exactly one of {', '.join(FORMS)}")
    if present and present[0] != "data":
        return Inputs(table_of(present[0], document[present[0]], no_booleans(body)), proba, explain=explain)
    if not present and other_forms:
        return Inputs(OtherForm(document), proba, explain=explain)
    if not present:
        raise PayloadError(422, f"body has none of {', '.join(FORMS)} (keys: {sorted(document)[:5]})")
    return Inputs(strict_rows(body), proba, explain=explain)  # `data` the fast path could not take


def parse_inputs(body: bytes, other_forms: bool = False) -> Inputs:
    """The body's rows: a float64 array (positional `data`), a named-column table, or (`other_forms`:
    a layer provides rows for them) an object in none of the forms; PayloadError (400/422) naming what
    is wrong otherwise."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        document = loads_wide(body)
        if document is None:
            return Inputs(strict_rows(body))  # names the JSON error
    if type(document) is not dict:
        return Inputs(strict_rows(body))
    if len(document) == 1 and no_booleans(body):  # numpy would read booleans as 1/0
        array = numeric_array(document.get("data"))
        if array is not None:
            return Inputs(array)
    return _forms(document, body, other_forms)


def plain(predictions: Any) -> Any:
    """Predictions in a form orjson writes natively (numeric arrays as is, others as lists)."""
    if isinstance(predictions, np.ndarray) and (
        predictions.dtype.kind not in "biuf" or predictions.ndim != 1 or not predictions.flags.c_contiguous
    ):
        return predictions.tolist()
    return predictions


def answer_bytes(
    variant: str, version: str, run_id: str, predictions: Any, probabilities: tuple[list, Any] | None = None
) -> bytes:
    answer = {"variant": variant, "version": version, "run_id": run_id, "predictions": plain(predictions)}
    if probabilities is not None:
        classes, proba = probabilities
        answer.update(classes=plain(np.asarray(classes)), probabilities=np.ascontiguousarray(proba, dtype=np.float64))
    return orjson.dumps(answer, option=orjson.OPT_SERIALIZE_NUMPY)
