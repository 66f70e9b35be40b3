"""The server's own HTTP protocol (`serving.http_protocol`) under a real uvicorn, spoken to over raw
sockets: what uvicorn's connection handling promises still holds on the one-write path (keep-alive,
pipelining, HTTP/1.0, chunked and oversized bodies, 100-continue, a client that goes away)."""

from __future__ import annotations

import json
import socket
import time
from urllib.parse import urlparse

import httpx
import pytest

from mlops_platform import processes
from tests.support import ROW, start_server

pytestmark = pytest.mark.real
BODY = json.dumps({"data": [ROW]}).encode()


@pytest.fixture(scope="module")
def server(mlflow_server, shared_model, tmp_path_factory):
    service = start_server(
        tmp_path_factory.mktemp("protocol"), {"MLFLOW_TRACKING_URI": mlflow_server, "MODEL_NAME": shared_model.name}
    )
    try:
        yield service
    finally:
        processes.stop(service)


def _connect(server) -> socket.socket:
    url = urlparse(server.url)
    return socket.create_connection((url.hostname, url.port), timeout=10)


def _request(body: bytes = BODY, version: str = "1.1", extra: str = "") -> bytes:
    return (
        f"POST /predict HTTP/{version}\r\nHost: test\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n{extra}\r\n"
    ).encode() + body


def _responses(sock: socket.socket, count: int) -> list[tuple[int, dict[str, str], bytes]]:
    """`count` whole responses read off the socket (each framed by its Content-Length)."""
    buffer, answers = b"", []
    while len(answers) < count:
        while b"\r\n\r\n" not in buffer:
            chunk = sock.recv(65536)
            assert chunk, f"connection closed after {len(answers)} responses"
            buffer += chunk
        head, buffer = buffer.split(b"\r\n\r\n", 1)
        lines = head.decode().split("\r\n")
        headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
        length = int(headers["content-length"])
        while len(buffer) < length:
            buffer += sock.recv(65536)
        answers.append((int(lines[0].split()[1]), headers, buffer[:length]))
        buffer = buffer[length:]
    assert buffer == b""
    return answers


def test_keep_alive_and_pipelined_requests_are_answered_in_order_on_one_connection(server):
    with _connect(server) as sock:
        for _ in range(3):
            sock.sendall(_request())
            [(status, headers, body)] = _responses(sock, 1)
            assert status == 200 and json.loads(body)["predictions"] and "x-request-id" in headers
        ids = [f"pipelined-{i}" for i in range(5)]
        sock.sendall(b"".join(_request(extra=f"x-request-id: {rid}\r\n") for rid in ids))
        answers = _responses(sock, 5)
        assert [h["x-request-id"] for _, h, _ in answers] == ids
        assert all(status == 200 and h["content-type"] == "application/json" for status, h, _ in answers)
        assert all(h.get("connection") != "close" and "date" in h and "server" in h for _, h, _ in answers)


def test_http_1_0_and_connection_close_are_answered_then_the_connection_closes(server):
    for request in (_request(version="1.0"), _request(extra="Connection: close\r\n")):
        with _connect(server) as sock:
            sock.sendall(request)
            [(status, headers, _)] = _responses(sock, 1)
            assert status == 200 and headers["connection"] == "close"
            assert sock.recv(1) == b""  # closed by the server


def test_chunked_bodies_expect_continue_and_bad_input_take_their_paths(server):
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (BODY[:10], BODY[10:])) + b"0\r\n\r\n"
    with _connect(server) as sock:
        sock.sendall(
            b"POST /predict HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n" + chunked
        )
        [(status, _, body)] = _responses(sock, 1)
        assert status == 200 and json.loads(body)["predictions"]
        sock.sendall(_request(b'{"data": [[1, 2]]}'))  # the model takes 4 columns
        [(status, headers, body)] = _responses(sock, 1)
        assert status == 422 and "x-request-id" in headers and b"4" in body
        sock.sendall(_request(extra="Expect: 100-continue\r\n"))  # uvicorn's own path writes the 100
        reply = b""
        while reply.count(b"\r\n\r\n") < 2 or not reply.endswith(b"}"):
            reply += sock.recv(65536)
        assert reply.startswith(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK")
    oversized = b'{"data": [' + b"[1.0, 2.0, 3.0, 4.0], " * 400_000 + b"[1.0, 2.0, 3.0, 4.0]]}"
    answer = httpx.post(f"{server.url}/predict", content=oversized, headers={"content-type": "application/json"})
    assert answer.status_code == 413


def test_a_chunked_body_over_the_limit_is_refused_as_it_streams(server):
    """Not held whole first: a body that never ends is refused once it passes MAX_BODY_BYTES."""
    chunk = b"[1.0, 2.0, 3.0, 4.0], " * 3000  # ~66 KB
    with _connect(server) as sock:
        sock.sendall(
            b"POST /predict HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            b'Transfer-Encoding: chunked\r\n\r\na\r\n{"data": [\r\n'
        )
        for _ in range(20):  # ~1.3 MB, over the default 1 MiB, and no last chunk
            sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        [(status, _, body)] = _responses(sock, 1)
    assert status == 413 and b"exceeds" in body
    assert httpx.post(f"{server.url}/predict", json={"data": [ROW]}).status_code == 200


def test_a_client_gone_mid_body_leaves_the_server_serving(server):
    with _connect(server) as sock:
        sock.sendall(_request()[: -len(BODY) // 2])  # half the body, then away
    with _connect(server) as sock:
        sock.sendall(_request())
        [(status, _, _)] = _responses(sock, 1)
        assert status == 200
    assert httpx.get(f"{server.url}/health").json()["in_flight"] == 0


def test_the_shadow_copy_is_scored_on_the_direct_path_and_through_fastapi(mlflow_server, shared_model, tmp_path):
    """`Reply.after`, which the one-write path runs once the answer is written, is run on both paths
    (a chunked body goes through FastAPI)."""
    env = {"MLFLOW_TRACKING_URI": mlflow_server, "MODEL_NAME": shared_model.name, "ALIAS_SELECTION_MODE": "shadow"}
    service = start_server(tmp_path, env)
    try:
        for _ in range(5):
            answer = httpx.post(f"{service.url}/predict", json={"data": [ROW]})
            assert answer.status_code == 200 and answer.headers["x-model-variant"] == "A"
        with _connect(service) as sock:
            sock.sendall(
                b"POST /predict HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n" % (len(BODY), BODY)
            )
            [(status, headers, _)] = _responses(sock, 1)
        assert status == 200 and headers["x-model-variant"] == "A"
        deadline = time.monotonic() + 10
        while (shadow := httpx.get(f"{service.url}/health").json()["shadow"])["requests"] < 6:
            assert time.monotonic() < deadline, shadow
            time.sleep(0.05)
        assert shadow["requests"] == 6 and shadow["errors"] == 0
    finally:
        processes.stop(service)
