"""The Triton runtime's scoring call: KServe v2 inference with Triton's binary-tensor extension,
written and read by hand over one kept-alive HTTP/1.1 connection.

tritonclient's aio client builds each call with aiohttp (a session request, its headers and
streams) and encodes tensors in Python: profiled, it cost more CPU in the model server than the
scoring it asked Triton for. A micro-batch needs only this: one JSON header naming the input's
shape and byte size, the rows' bytes, and back one JSON header and the output's bytes. The model
server has at most one call in flight per runtime (`max_in_flight`), so one connection suffices;
a broken one is opened again once per call.
"""

from __future__ import annotations

import asyncio

import numpy as np
import orjson

from serving.runtimes.base import RuntimeUnavailable

# Triton's names of the tensor types the export uses (serving.runtimes.triton_export)
NUMPY_OF = {"FP64": np.float64, "FP32": np.float32, "INT64": np.int64, "INT32": np.int32}
DATATYPE_OF = {np.dtype(dtype): name for name, dtype in NUMPY_OF.items()}
HEADER_LENGTH = b"inference-header-content-length"


class TritonCallError(ValueError):
    """Triton answered the call with an error (its message): the input, or a model it lost."""


class TritonConnection:
    def __init__(self, host: str, port: int, timeout_s: float):
        self.host, self.port, self.timeout_s = host, port, timeout_s
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def infer(
        self, model: str, input_name: str, output_name: str, rows: np.ndarray, headers: dict[str, str] | None = None
    ) -> np.ndarray:
        """The output tensor of `model` for `rows` (one request; TritonCallError when Triton refuses
        it, RuntimeUnavailable when it cannot be reached or answers nonsense)."""
        rows = np.ascontiguousarray(rows)
        data = rows.tobytes()
        header = orjson.dumps(
            {
                "inputs": [
                    {
                        "name": input_name,
                        "shape": list(rows.shape),
                        "datatype": DATATYPE_OF[rows.dtype],
                        "parameters": {"binary_data_size": len(data)},
                    }
                ],
                "outputs": [{"name": output_name, "parameters": {"binary_data": True}}],
            }
        )
        extra = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
        request = (
            f"POST /v2/models/{model}/infer HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Content-Type: application/octet-stream\r\nInference-Header-Content-Length: {len(header)}\r\n"
            f"Content-Length: {len(header) + len(data)}\r\n{extra}\r\n"
        ).encode()
        try:
            status, answer_headers, body = await asyncio.wait_for(
                self._exchange(request + header + data), self.timeout_s
            )
        except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError) as exc:
            self.close()
            raise RuntimeUnavailable(f"{type(exc).__name__}: {exc}") from exc
        return _output(status, answer_headers, body, output_name)

    async def _exchange(self, request: bytes) -> tuple[int, dict[bytes, bytes], bytes]:
        for attempt in (1, 2):
            fresh = self._writer is None
            if fresh:
                self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
            try:
                self._writer.write(request)
                return await self._response()
            except (ConnectionError, asyncio.IncompleteReadError):
                self.close()
                if fresh or attempt == 2:  # a kept-alive connection Triton closed meanwhile: once more
                    raise
        raise AssertionError("unreachable")

    async def _response(self) -> tuple[int, dict[bytes, bytes], bytes]:
        head = await self._reader.readuntil(b"\r\n\r\n")
        lines = head[:-4].split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
        if b"content-length" not in headers:
            raise ValueError("Triton's answer has no Content-Length")
        body = await self._reader.readexactly(int(headers[b"content-length"]))
        if headers.get(b"connection", b"").lower() == b"close":
            self.close()
        return status, headers, body

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None


def _output(status: int, headers: dict[bytes, bytes], body: bytes, output_name: str) -> np.ndarray:
    length = int(headers.get(HEADER_LENGTH, len(body)))
    try:
        answer = orjson.loads(body[:length])
    except orjson.JSONDecodeError as exc:
        raise RuntimeUnavailable(f"Triton answered {status} with a body that is not JSON") from exc
    if status != 200:
        raise TritonCallError(str(answer.get("error", answer)) if isinstance(answer, dict) else str(answer))
    offset = length
    for output in answer.get("outputs", []):
        size = output.get("parameters", {}).get("binary_data_size")
        if output.get("name") == output_name and size is not None:
            dtype = NUMPY_OF.get(output.get("datatype"))
            if dtype is None:
                raise RuntimeUnavailable(f"Triton answered a {output.get('datatype')} tensor")
            return np.frombuffer(body, dtype=dtype, count=size // np.dtype(dtype).itemsize, offset=offset).reshape(-1)
        offset += size or 0
    raise RuntimeUnavailable(f"Triton's answer has no binary output {output_name!r}")
