"""The registry client's HTTP over real sockets: a server that drops idle connections (as MLflow's
does after its keep-alive timeout), a tracking URI with a path, a streamed download."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from mlops_base.http_transport import NoAnswer, Transport
from mlops_platform import processes


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen: list[tuple[str, str, int]] = []  # method, path, client port
    drop_after_answer = False

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        sent = self.rfile.read(length) if length else b""
        self.seen.append((self.command, self.path, self.client_address[1]))
        body = b'{"echo": ' + (sent or b"null") + b"}"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        # keep-alive said, then the connection closed: an idle timeout between two requests
        self.close_connection = self.drop_after_answer

    do_GET = do_POST = do_DELETE = _answer

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def server():
    _Handler.seen = []
    _Handler.drop_after_answer = False
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_a_connection_is_kept_alive_and_a_dropped_one_replaced_at_once(server):
    transport = Transport(f"http://127.0.0.1:{server.server_port}", timeout_s=5)
    try:
        assert transport.request("GET", "/a") == (200, b'{"echo": null}')
        assert transport.request("POST", "/b", body=b'{"x": 1}') == (200, b'{"echo": {"x": 1}}')
        first, second = (port for _, _, port in _Handler.seen)
        assert first == second  # one connection for both
        _Handler.drop_after_answer = True
        assert transport.request("GET", "/c")[0] == 200  # kept, then closed by the server
        assert transport.request("DELETE", "/d", body=b"{}")[0] == 200  # on a new connection, no error
        assert _Handler.seen[-1][2] != second
    finally:
        transport.close()


def test_the_tracking_uri_path_prefixes_every_request_and_names_are_quoted(server, tmp_path):
    transport = Transport(f"http://127.0.0.1:{server.server_port}/mlflow/", timeout_s=5)
    try:
        transport.request("GET", "/api/2.0/x", params={"name": "my model", "alias": "A"})
        status, data = transport.request("GET", "/artifacts/a b.txt", stream_to=tmp_path / "out")
        assert (status, data) == (200, b"")
        assert (tmp_path / "out").read_bytes() == b'{"echo": null}'
    finally:
        transport.close()
    assert [path for _, path, _ in _Handler.seen] == [
        "/mlflow/api/2.0/x?name=my+model&alias=A",
        "/mlflow/artifacts/a%20b.txt",
    ]


def test_no_server_and_no_http_url_are_no_answer():
    with pytest.raises(NoAnswer):
        Transport(f"http://127.0.0.1:{processes.free_port()}", timeout_s=1).request("GET", "/")
    with pytest.raises(NoAnswer, match="not an http"):
        Transport("file:///tmp/mlruns", timeout_s=1).request("GET", "/")
