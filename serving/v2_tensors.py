"""The Open Inference Protocol's (KServe v2) infer bodies turned into the data plane's inputs, and
its answers into bytes: JSON tensors, and the binary tensor data extension (tritonclient's default)
both ways.

One input with a 2-D numeric shape is positional rows (the fast path); otherwise each input is one
named column of shape [rows] or [rows, 1], checked against the model's columns like
`dataframe_split`. Outputs: `predict` (one per row) and, for classifiers that have them,
`predict_proba` ([rows, classes], in the order of the model's classes).
"""

from __future__ import annotations

import math
import struct
import zlib
from typing import Any, Literal, NamedTuple

import numpy as np
import orjson

from serving.columns import Table
from serving.payload import Inputs
from serving.payload_error import PayloadError

OutputName = Literal["predict", "predict_proba"]
OUTPUTS: tuple[OutputName, ...] = ("predict", "predict_proba")
POSITIONAL_INPUT = "input-0"  # the name the metadata gives a positional model's one input (MLServer's)
HEADER_LENGTH = "inference-header-content-length"
NUMERIC = {
    "UINT8": "<u1",
    "UINT16": "<u2",
    "UINT32": "<u4",
    "UINT64": "<u8",
    "INT8": "<i1",
    "INT16": "<i2",
    "INT32": "<i4",
    "INT64": "<i8",
    "FP16": "<f2",
    "FP32": "<f4",
    "FP64": "<f8",
}
DATATYPES = (*NUMERIC, "BOOL", "BYTES")
_LENGTH = struct.Struct("<I")


class RequestedOutput(NamedTuple):
    name: OutputName
    binary: bool


class InferRequest(NamedTuple):
    inputs: Inputs
    outputs: tuple[RequestedOutput, ...] | None  # None: every output the model has
    binary_output: bool  # the request's default for outputs it does not list
    id: str | None


def decompress(body: bytes, encoding: str | None, max_bytes: int) -> bytes:
    """A gzip or deflate body (tritonclient's request compression), at most `max_bytes` once inflated."""
    if encoding in (None, "", "identity"):
        return body
    if encoding not in ("gzip", "deflate"):
        raise PayloadError(415, f"content encoding {encoding!r} is not accepted (gzip, deflate or none)")
    inflater = zlib.decompressobj(wbits=31 if encoding == "gzip" else 15)
    try:
        inflated = inflater.decompress(body, max_bytes + 1)
    except zlib.error as exc:
        raise PayloadError(400, f"body is not {encoding} data ({exc})") from exc
    if len(inflated) > max_bytes:
        raise PayloadError(413, f"request body exceeds {max_bytes} bytes once inflated")
    return inflated


def _split(body: bytes, header_length: str | None) -> tuple[bytes, memoryview]:
    if header_length is None:
        return body, memoryview(b"")
    if not header_length.isdigit() or int(header_length) > len(body):
        raise PayloadError(400, f"Inference-Header-Content-Length {header_length!r} is not a length within the body")
    n = int(header_length)
    return body[:n], memoryview(body)[n:]


def _flat(data: list, where: str) -> list:
    """Nested data in row-major order (the protocol allows both)."""
    if not data or type(data[0]) is not list:
        return data
    flat = []
    for item in data:
        if type(item) is not list:
            raise PayloadError(422, f"{where}.data: nested lists mixed with values")
        flat.extend(_flat(item, where))
    return flat


def _count(shape: list[int]) -> int:
    return math.prod(shape)


def _json_values(spec: dict, where: str, count: int) -> list:
    data = spec.get("data")
    if type(data) is not list:
        raise PayloadError(422, f"{where}.data: expected a list of values (or parameters.binary_data_size)")
    flat = _flat(data, where)
    if len(flat) != count:
        raise PayloadError(422, f"{where}: shape {spec['shape']} holds {count} values; data has {len(flat)}")
    return flat


def _binary_values(spec: dict, where: str, count: int, chunk: memoryview) -> np.ndarray | list:
    datatype = spec["datatype"]
    if datatype == "BYTES":
        values, at = [], 0
        while at < len(chunk):
            if at + 4 > len(chunk):
                raise PayloadError(422, f"{where}: BYTES element {len(values)} has a truncated length prefix")
            (size,) = _LENGTH.unpack_from(chunk, at)
            element = bytes(chunk[at + 4 : at + 4 + size])
            if len(element) != size:
                raise PayloadError(422, f"{where}: BYTES element {len(values)} is shorter than its length prefix")
            try:
                values.append(element.decode("utf-8"))
            except UnicodeDecodeError as exc:
                raise PayloadError(422, f"{where}: BYTES element {len(values)} is not UTF-8 text") from exc
            at += 4 + size
    else:
        dtype = np.dtype(NUMERIC.get(datatype, "?"))
        if len(chunk) % dtype.itemsize:
            raise PayloadError(422, f"{where}: {len(chunk)} bytes is not a whole number of {datatype} values")
        values = np.frombuffer(chunk, dtype=dtype)
    if len(values) != count:
        raise PayloadError(422, f"{where}: shape {spec['shape']} holds {count} values; binary data has {len(values)}")
    return values


def _spec(spec: Any, i: int) -> tuple[str, dict]:
    if type(spec) is not dict or type(spec.get("name")) is not str:
        raise PayloadError(422, f"inputs.{i}: expected an object with name, shape, datatype and data")
    where = f"inputs.{spec['name']}"
    shape = spec.get("shape")
    if type(shape) is not list or not all(type(d) is int and d >= 0 for d in shape):
        raise PayloadError(422, f"{where}.shape: expected a list of non-negative integers")
    if spec.get("datatype") not in DATATYPES:
        raise PayloadError(422, f"{where}.datatype: {spec.get('datatype')!r} is not one of {', '.join(DATATYPES)}")
    parameters = spec.get("parameters") or {}
    if type(parameters) is not dict:
        raise PayloadError(422, f"{where}.parameters: expected an object")
    return where, parameters


def _inputs(document: dict, binary: memoryview) -> list[tuple[str, str, list[int], Any]]:
    """Each input's (name, datatype, shape, flat values): a numpy array (binary), else the JSON list."""
    specs = document.get("inputs")
    if type(specs) is not list or not specs:
        raise PayloadError(422, "inputs: expected a non-empty list of input tensors")
    decoded, offset, names = [], 0, set()
    for i, spec in enumerate(specs):
        where, parameters = _spec(spec, i)
        if spec["name"] in names:
            raise PayloadError(422, f"{where}: the name is used by another input")
        names.add(spec["name"])
        count = _count(spec["shape"])
        size = parameters.get("binary_data_size")
        if size is None:
            values = _json_values(spec, where, count)
        elif type(size) is not int or size < 0 or offset + size > len(binary):
            raise PayloadError(422, f"{where}.parameters.binary_data_size: {size!r} runs past the binary data")
        else:
            values = _binary_values(spec, where, count, binary[offset : offset + size])
            offset += size
        decoded.append((spec["name"], spec["datatype"], spec["shape"], values))
    if offset != len(binary):
        raise PayloadError(422, f"binary data: {len(binary) - offset} bytes after the last input's")
    return decoded


def _numbers(where: str, datatype: str, values: Any, check_each: bool) -> np.ndarray:
    """A numeric tensor's values as float64, or a 422 at the first that is not a finite number.
    numpy alone would read strings of digits and booleans as numbers: a JSON body with booleans in
    it (or any value numpy cannot take as a number) is checked value by value."""
    array = values if isinstance(values, np.ndarray) else np.array(values)
    if array.dtype.kind not in "iuf" or (check_each and not isinstance(values, np.ndarray)):
        for j, value in enumerate(values):
            if type(value) not in (int, float):
                raise PayloadError(422, f"{where}.data.{j}: {datatype} expects a number, got {value!r}")
    array = array.astype(np.float64, copy=False)
    if not np.isfinite(array).all():
        raise PayloadError(422, f"{where}.data.{int((~np.isfinite(array)).argmax())}: not a finite number")
    return array


def _column(where: str, datatype: str, values: Any) -> list:
    """A named column's values as JSON-like Python values (the column check names wrong kinds)."""
    if isinstance(values, np.ndarray):
        return values.astype(bool).tolist() if datatype == "BOOL" else values.tolist()
    if datatype in NUMERIC:
        for j, value in enumerate(values):
            if type(value) is bool or type(value) is str:
                raise PayloadError(422, f"{where}.data.{j}: {datatype} expects a number, got {value!r}")
    elif datatype == "BOOL":
        for j, value in enumerate(values):
            if value is not None and type(value) is not bool:
                raise PayloadError(422, f"{where}.data.{j}: BOOL expects true or false, got {value!r}")
    return values


def _rows(decoded: list, check_each: bool) -> Inputs:
    if len(decoded) == 1 and len(decoded[0][2]) == 2 and decoded[0][1] in NUMERIC:
        name, datatype, shape, values = decoded[0]
        where = f"inputs.{name}"
        return Inputs(_numbers(where, datatype, values, check_each).reshape(shape), where=where)
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
        columns[name] = _column(f"inputs.{name}", datatype, values)
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
            raise PayloadError(422, f"outputs.{i}: unknown output {name!r}; this model has {', '.join(OUTPUTS)}")
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
    spec = inputs[0]
    if type(spec) is not dict or len(spec) != 4 or spec.get("datatype") not in NUMERIC:
        return None
    shape, data = spec.get("shape"), spec.get("data")
    if type(spec.get("name")) is not str or type(shape) is not list or len(shape) != 2 or type(data) is not list:
        return None
    rows, width = shape
    if type(rows) is not int or type(width) is not int or rows < 1 or width < 1:
        return None
    array = np.array(data)
    if array.dtype.kind not in "iuf" or array.size != rows * width:
        return None
    array = array.astype(np.float64, copy=False).reshape(rows, width)
    if not np.isfinite(array).all():
        return None
    where = f"inputs.{spec['name']}"
    if outputs is None:
        return InferRequest(Inputs(array, where=where, proba_if_any=True), None, False, None)
    return InferRequest(Inputs(array, where=where), PREDICT_ONLY, False, None)


def parse_infer(body: bytes, header_length: str | None) -> InferRequest:
    """An infer request (JSON, or JSON then binary tensor data) as inputs of the data plane and the
    outputs it asks for; PayloadError naming the input and the element otherwise."""
    text, binary = _split(body, header_length)
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
    decoded = _inputs(document, binary)
    outputs, binary_output = _outputs(document)
    inputs = _rows(decoded, check_each=b"true" in text or b"false" in text)
    if outputs is None:
        inputs = inputs._replace(proba_if_any=True)
    else:
        inputs = inputs._replace(return_proba=any(output.name == "predict_proba" for output in outputs))
    return InferRequest(inputs, outputs, binary_output, request_id)


def datatype_of(dtype: np.dtype) -> str:
    """The v2 datatype the answer of a model whose predictions have `dtype` is sent in."""
    return {"f": "FP64", "i": "INT64", "u": "UINT64", "b": "BOOL"}.get(dtype.kind, "BYTES")


def _tensor(name: str, values: Any) -> tuple[str, list[int], np.ndarray | list]:
    array = np.asarray(values)
    datatype = datatype_of(array.dtype)
    if datatype == "BYTES":
        return datatype, list(array.shape), [str(v) for v in array.ravel().tolist()]
    cast = {"FP64": np.float64, "INT64": np.int64, "UINT64": np.uint64, "BOOL": np.bool_}[datatype]
    return datatype, list(array.shape), np.ascontiguousarray(array, dtype=cast).ravel()


def _binary(values: np.ndarray | list) -> bytes:
    if isinstance(values, np.ndarray):
        return values.astype(values.dtype.newbyteorder("<"), copy=False).tobytes()
    encoded = [value.encode("utf-8") for value in values]
    return b"".join(_LENGTH.pack(len(e)) + e for e in encoded)


def infer_response(
    model_name: str, version: str, request: InferRequest, predictions: Any, probabilities: Any | None
) -> tuple[bytes, int | None]:
    """The answer's bytes and, when some output is binary, the length of its JSON header."""
    if request.outputs is PREDICT_ONLY and isinstance(predictions, np.ndarray) and predictions.ndim == 1:
        if predictions.dtype.kind in "if":  # numbers of one row each, as JSON: what most requests ask
            tensor = {"name": "predict", "datatype": datatype_of(predictions.dtype), "shape": [len(predictions)]}
            answer = {"model_name": model_name, "model_version": version, "outputs": [{**tensor, "data": predictions}]}
            return orjson.dumps(answer, option=orjson.OPT_SERIALIZE_NUMPY), None
    available = {"predict": predictions}
    if probabilities is not None:
        available["predict_proba"] = probabilities
    wanted = request.outputs or [RequestedOutput(name, request.binary_output) for name in available]
    outputs, chunks = [], []
    for output in wanted:
        datatype, shape, values = _tensor(output.name, available[output.name])
        tensor: dict[str, Any] = {"name": output.name, "datatype": datatype, "shape": shape}
        if output.binary:
            chunks.append(_binary(values))
            tensor["parameters"] = {"binary_data_size": len(chunks[-1])}
        else:
            tensor["data"] = values
        outputs.append(tensor)
    answer: dict[str, Any] = {"model_name": model_name, "model_version": version, "outputs": outputs}
    if request.id is not None:
        answer["id"] = request.id
    header = orjson.dumps(answer, option=orjson.OPT_SERIALIZE_NUMPY)
    if not chunks:
        return header, None
    return header + b"".join(chunks), len(header)
