"""An OTLP/HTTP trace endpoint that accepts and counts what it is sent: the collector a traced
model server exports to in the bench (its cost is the server's, not a collector's). The tests'
receiver (`tests/otlp_receiver.py`) is this sink keeping what it gets (`keep`)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class OtlpSink:
    def __init__(self, keep: bool = False) -> None:
        self.exports = 0
        self.status = 200  # what it answers
        self.posts: list[tuple[dict, bytes]] = []  # (headers, body) of each export, with `keep`
        sink = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # kept alive, as a collector does: the exporter connects once

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                sink.exports += 1
                if keep:
                    sink.posts.append((dict(self.headers), body))
                self.send_response(sink.status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
