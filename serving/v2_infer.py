"""The Open Inference Protocol's (KServe v2) infer bodies turned into the data plane's inputs, and
its answers into bytes (JSON, or JSON then binary tensor data).

One input with a 2-D numeric shape is positional rows (the fast path); otherwise each input is one
named column of shape [rows] or [rows, 1], checked against the model's columns like
`dataframe_split`. Outputs: `predict` (one per row) and, for classifiers that have them,
`predict_proba` ([rows, classes], in the order of the model's classes).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, NamedTuple

import numpy as np
import orjson

from mlops_base.echo import clip, quoted
from serving.columns import Table
from serving.inputs import Inputs, OtherForm, PayloadError
from serving.v2_tensors import (
    NUMERIC,
    binary_bytes,
    column_values,
    datatype_of,
    decode_inputs,
    numbers,
    split_body,
    tensor,
)

if TYPE_CHECKING:
    from mlops_base.explain.explainers import Explanation

OutputName = Literal["predict", "predict_proba", "explanation"]
OUTPUTS: tuple[OutputName, ...] = ("predict", "predict_proba")
POSITIONAL_INPUT = "input-0"  # the name the metadata gives a positional model's one input (MLServer's)


class RequestedOutput(NamedTuple):
    name: OutputName
    binary: bool


class InferRequest(NamedTuple):
    inputs: Inputs
    outputs: tuple[RequestedOutput, ...] | None  # None: every output the model has
    binary_output: bool  # the request's default for outputs it does not list
    id: str | None
    explain: bool = False  # parameters.explain: an `explanation` output too (POST /explain's, as a tensor)


def _rows(decoded: list, check_each: bool) -> Inputs:
    if len(decoded) == 1 and len(decoded[0][2]) == 2 and decoded[0][1] in NUMERIC:
        name, datatype, shape, values = decoded[0]
        where = f"inputs.{clip(name, 64)}"
        return Inputs(numbers(where, datatype, values, check_each).reshape(shape), where=where)
    lengths = set()
    columns: dict[str, list] = {}
    for name, datatype, shape, values in decoded:
        if len(shape) not in (1, 2) or (len(shape) == 2 and shape[1] != 1):
            raise PayloadError(
                422,
                f"inputs.{name}: shape {shape}: a named input is one column ([rows] or [rows, 1]); "
                "only a positional model takes one numeric [rows, features] input",
            )
        lengths.add(shape[0])
        columns[name] = column_values(f"inputs.{name}", datatype, values)
    if len(lengths) > 1:
        raise PayloadError(422, f"inputs: the named inputs have different numbers of rows ({sorted(lengths)})")
    rows = [list(row) for row in zip(*columns.values(), strict=True)]
    return Inputs(Table("inputs", list(columns), rows), where="inputs")


def _outputs(document: dict) -> tuple[tuple[RequestedOutput, ...] | None, bool]:
    parameters = document.get("parameters") or {}
    if type(parameters) is not dict:
        raise PayloadError(422, "parameters: expected an object")
    binary = parameters.get("binary_data_output", False)
    if type(binary) is not bool:
        raise PayloadError(422, "parameters.binary_data_output: expected true or false")
    listed = document.get("outputs")
    if listed is None:
        return None, binary
    if type(listed) is not list:
        raise PayloadError(422, "outputs: expected a list of {name} objects")
    requested = []
    for i, spec in enumerate(listed):
        if type(spec) is not dict or spec.get("name") not in OUTPUTS:
            name = spec.get("name") if type(spec) is dict else spec
            raise PayloadError(422, f"outputs.{i}: unknown output {quoted(name)}; this model has {', '.join(OUTPUTS)}")
        own_parameters = spec.get("parameters") or {}
        own = own_parameters.get("binary_data", binary) if type(own_parameters) is dict else None
        if type(own) is not bool:
            raise PayloadError(422, f"outputs.{i}.parameters.binary_data: expected true or false")
        requested.append(RequestedOutput(spec["name"], own))
    return tuple(requested), binary


PREDICT_ONLY = (RequestedOutput("predict", False),)


def _fast(document: dict, text: bytes) -> InferRequest | None:
    """The common request, proved valid at numpy's speed: one JSON input of positional rows, finite
    numbers only, answered as JSON; None for anything else (the full path checks and names it)."""
    inputs, outputs = document.get("inputs"), document.get("outputs")
    if len(document) > 2 or type(inputs) is not list or len(inputs) != 1 or b"true" in text or b"false" in text:
        return None
    if outputs is not None and outputs != [{"name": "predict"}]:
        return None
    parameters = document.get("parameters")
    if parameters and (type(parameters) is not dict or "explain" in parameters):
        return None  # the full path checks them (and explains)
    spec = inputs[0]
    if type(spec) is not dict or len(spec) != 4 or type(spec.get("datatype")) is not str:
        return None  # an object or a list is no dict key: the full path names what is wrong
    if spec["datatype"] not in NUMERIC:
        return None
    shape, data = spec.get("shape"), spec.get("data")
    if type(spec.get("name")) is not str or type(shape) is not list or len(shape) != 2 or type(data) is not list:
        return None
    rows, width = shape
    if type(rows) is not int or type(width) is not int or rows < 1 or width < 1:
        return None
    try:
        array = np.array(data)
    except (ValueError, OverflowError):  # ragged or too deep: the full path names the problem
        return None
    if array.dtype.kind not in "iuf" or array.size != rows * width:
        return None
    array = array.astype(np.float64, copy=False).reshape(rows, width)
    if not np.isfinite(array).all():
        return None
    where = f"inputs.{clip(spec['name'], 64)}"
    if outputs is None:
        return InferRequest(Inputs(array, where=where, proba_if_any=True), None, False, None)
    return InferRequest(Inputs(array, where=where), PREDICT_ONLY, False, None)


def parse_infer(body: bytes, header_length: str | None, other_forms: bool = False) -> InferRequest:
    """An infer request (JSON, or JSON then binary tensor data) as inputs of the data plane and the
    outputs it asks for; PayloadError naming the input and the element otherwise. `other_forms`: a
    layer provides rows for another body form, and a request of one 1-D input goes to it as that
    input's name and values (e.g. `entity_ids`, the feast layer's)."""
    text, binary = split_body(body, header_length)
    try:
        document = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise PayloadError(400, f"body is not a JSON inference request ({exc})") from exc
    if type(document) is not dict:
        raise PayloadError(422, "body must be a JSON object with `inputs`")
    if header_length is None:
        fast = _fast(document, text)
        if fast is not None:
            return fast
    request_id = document.get("id")
    if request_id is not None and type(request_id) is not str:
        raise PayloadError(422, "id: expected a string")
    decoded = decode_inputs(document, binary)
    outputs, binary_output = _outputs(document)
    explain = (document.get("parameters") or {}).get("explain", False)
    if type(explain) is not bool:
        raise PayloadError(422, "parameters.explain: expected true or false")
    if other_forms and len(decoded) == 1 and len(decoded[0][2]) == 1:
        name, _, _, values = decoded[0]
        inputs = Inputs(OtherForm({name: values.tolist() if isinstance(values, np.ndarray) else values}))
    else:
        inputs = _rows(decoded, check_each=b"true" in text or b"false" in text)
    if outputs is None:
        inputs = inputs._replace(proba_if_any=True)
    else:
        inputs = inputs._replace(return_proba=any(output.name == "predict_proba" for output in outputs))
    return InferRequest(inputs._replace(explain=explain), outputs, binary_output, request_id, explain)


def infer_response(
    model_name: str,
    version: str,
    request: InferRequest,
    predictions: Any,
    probabilities: Any | None,
    explanation: Explanation | None = None,
) -> tuple[bytes, int | None]:
    """The answer's bytes and, when some output is binary, the length of its JSON header. With an
    `explanation`: an output `explanation` [rows, columns, outputs] of attributions, and what they
    mean in the answer's `parameters.explanation`."""
    if request.outputs is PREDICT_ONLY and isinstance(predictions, np.ndarray) and predictions.ndim == 1:
        if predictions.dtype.kind in "if":  # numbers of one row each, as JSON: what most requests ask
            output = {"name": "predict", "datatype": datatype_of(predictions.dtype), "shape": [len(predictions)]}
            answer = {"model_name": model_name, "model_version": version, "outputs": [{**output, "data": predictions}]}
            return orjson.dumps(answer, option=orjson.OPT_SERIALIZE_NUMPY), None
    available = {"predict": predictions}
    if probabilities is not None:
        available["predict_proba"] = probabilities
    wanted = list(request.outputs or [RequestedOutput(name, request.binary_output) for name in available])
    if explanation is not None:
        available["explanation"] = explanation.phi
        wanted.append(RequestedOutput("explanation", request.binary_output))
    outputs, chunks = [], []
    for output in wanted:
        datatype, shape, values = tensor(available[output.name])
        described: dict[str, Any] = {"name": output.name, "datatype": datatype, "shape": shape}
        if output.binary:
            chunks.append(binary_bytes(values))
            described["parameters"] = {"binary_data_size": len(chunks[-1])}
        else:
            described["data"] = values
        outputs.append(described)
    answer: dict[str, Any] = {"model_name": model_name, "model_version": version, "outputs": outputs}
    if request.id is not None:
        answer["id"] = request.id
    if explanation is not None:
        meaning = {key: value for key, value in explanation.fields().items() if key != "explanations"}
        answer["parameters"] = {"explanation": {**meaning, "columns": explanation.columns}}
    header = orjson.dumps(answer, option=orjson.OPT_SERIALIZE_NUMPY)
    if not chunks:
        return header, None
    return header + b"".join(chunks), len(header)
