"""Open Inference Protocol (KServe v2) tensors: JSON data and the binary tensor data extension
(tritonclient's default) read into values and written back, compressed request bodies inflated."""

from __future__ import annotations

import math
import struct
from typing import Any

import numpy as np

from mlops_base.echo import clip, quoted
from serving.inputs import PayloadError

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
LENGTH_PREFIX = struct.Struct("<I")


def split_body(body: bytes, header_length: str | None) -> tuple[bytes, memoryview]:
    if header_length is None:
        return body, memoryview(b"")
    if not (header_length.isascii() and header_length.isdigit()) or int(header_length) > len(body):
        raise PayloadError(
            400, f"Inference-Header-Content-Length {quoted(header_length)} is not a length within the body"
        )
    n = int(header_length)
    return body[:n], memoryview(body)[n:]


def _flat(data: list, where: str, depth: int) -> list:
    """Nested data in row-major order (the protocol allows both), nested at most `depth` levels
    (the shape's); a loop, not recursion: a body may nest a thousand levels."""
    if not data or type(data[0]) is not list:
        if any(type(item) is list for item in data):
            raise PayloadError(422, f"{where}.data: nested lists mixed with values")
        return data
    flat: list = []
    stack = [(data, 1)]
    while stack:
        items, level = stack.pop()
        if level > depth:
            raise PayloadError(422, f"{where}.data: nested deeper than its shape's {depth} dimensions")
        nested = type(items[0]) is list if items else False
        for item in reversed(items) if nested else ():
            if type(item) is not list:
                raise PayloadError(422, f"{where}.data: nested lists mixed with values")
            stack.append((item, level + 1))
        if not nested:
            if any(type(item) is list for item in items):
                raise PayloadError(422, f"{where}.data: nested lists mixed with values")
            flat.extend(items)
    return flat


def _count(shape: list[int]) -> int:
    return math.prod(shape)


def _json_values(spec: dict, where: str, count: int) -> list:
    data = spec.get("data")
    if type(data) is not list:
        raise PayloadError(422, f"{where}.data: expected a list of values (or parameters.binary_data_size)")
    flat = _flat(data, where, max(1, len(spec["shape"])))
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
            (size,) = LENGTH_PREFIX.unpack_from(chunk, at)
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
    where = f"inputs.{clip(spec['name'], 64)}"
    shape = spec.get("shape")
    if type(shape) is not list or not all(type(d) is int and d >= 0 for d in shape):
        raise PayloadError(422, f"{where}.shape: expected a list of non-negative integers")
    if spec.get("datatype") not in DATATYPES:
        raise PayloadError(
            422, f"{where}.datatype: {quoted(spec.get('datatype'))} is not one of {', '.join(DATATYPES)}"
        )
    parameters = spec.get("parameters") or {}
    if type(parameters) is not dict:
        raise PayloadError(422, f"{where}.parameters: expected an object")
    return where, parameters


def decode_inputs(document: dict, binary: memoryview) -> list[tuple[str, str, list[int], Any]]:
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
            raise PayloadError(422, f"{where}.parameters.binary_data_size: {quoted(size)} runs past the binary data")
        else:
            values = _binary_values(spec, where, count, binary[offset : offset + size])
            offset += size
        decoded.append((spec["name"], spec["datatype"], spec["shape"], values))
    if offset != len(binary):
        raise PayloadError(422, f"binary data: {len(binary) - offset} bytes after the last input's")
    return decoded


def numbers(where: str, datatype: str, values: Any, check_each: bool) -> np.ndarray:
    """A numeric tensor's values as float64, or a 422 at the first that is not a finite number.
    numpy alone would read strings of digits and booleans as numbers: a JSON body with booleans in
    it (or any value numpy cannot take as a number) is checked value by value."""
    try:
        array = values if isinstance(values, np.ndarray) else np.array(values)
    except (ValueError, OverflowError):  # lists among the values: checked one by one below
        array = np.array([], dtype=object)
    if array.dtype.kind not in "iuf" or (check_each and not isinstance(values, np.ndarray)):
        for j, value in enumerate(values):
            if type(value) not in (int, float):
                raise PayloadError(422, f"{where}.data.{j}: {datatype} expects a number, got {quoted(value)}")
    array = array.astype(np.float64, copy=False)
    if not np.isfinite(array).all():
        raise PayloadError(422, f"{where}.data.{int((~np.isfinite(array)).argmax())}: not a finite number")
    return array


def column_values(where: str, datatype: str, values: Any) -> list:
    """A named column's values as JSON-like Python values (the column check names wrong kinds)."""
    if isinstance(values, np.ndarray):
        return values.astype(bool).tolist() if datatype == "BOOL" else values.tolist()
    if datatype in NUMERIC:
        for j, value in enumerate(values):
            if type(value) is bool or type(value) is str:
                raise PayloadError(422, f"{where}.data.{j}: {datatype} expects a number, got {quoted(value)}")
    elif datatype == "BOOL":
        for j, value in enumerate(values):
            if value is not None and type(value) is not bool:
                raise PayloadError(422, f"{where}.data.{j}: BOOL expects true or false, got {quoted(value)}")
    return values


def datatype_of(dtype: np.dtype) -> str:
    """The v2 datatype the answer of a model whose predictions have `dtype` is sent in."""
    return {"f": "FP64", "i": "INT64", "u": "UINT64", "b": "BOOL"}.get(dtype.kind, "BYTES")


def tensor(values: Any) -> tuple[str, list[int], np.ndarray | list]:
    array = np.asarray(values)
    datatype = datatype_of(array.dtype)
    if datatype == "BYTES":
        return datatype, list(array.shape), [str(v) for v in array.ravel().tolist()]
    cast = {"FP64": np.float64, "INT64": np.int64, "UINT64": np.uint64, "BOOL": np.bool_}[datatype]
    return datatype, list(array.shape), np.ascontiguousarray(array, dtype=cast).ravel()


def binary_bytes(values: np.ndarray | list) -> bytes:
    if isinstance(values, np.ndarray):
        return values.astype(values.dtype.newbyteorder("<"), copy=False).tobytes()
    encoded = [value.encode("utf-8") for value in values]
    return b"".join(LENGTH_PREFIX.pack(len(e)) + e for e in encoded)
