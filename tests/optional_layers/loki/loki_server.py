"""A stand-in for Grafana Loki's push API, for the tests: Loki cannot be installed on these
machines. It implements the contract the handler relies on: `POST /loki/api/v1/push` with a JSON
body `{"streams": [{"stream": {label: value}, "values": [[ns_timestamp_string, line,
{metadata}?], ...]}]}` answers 204 and keeps what it got; a malformed body answers 400 and a
protobuf (snappy) body 415, as this handler only speaks JSON. It can be stopped and started again
on the same port, to play Loki going down and coming back."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def _valid(body) -> bool:
    if not isinstance(body, dict) or not isinstance(body.get("streams"), list):
        return False
    for stream in body["streams"]:
        labels, values = stream.get("stream"), stream.get("values")
        if not isinstance(labels, dict) or not all(isinstance(v, str) for v in labels.values()):
            return False
        for value in values if isinstance(values, list) else [None]:
            if not (
                isinstance(value, list)
                and len(value) in (2, 3)
                and isinstance(value[0], str)
                and value[0].isdigit()
                and isinstance(value[1], str)
            ):
                return False
            if len(value) == 3 and not all(isinstance(v, str) for v in value[2].values()):
                return False
    return True


class LokiStandIn:
    def __init__(self, port: int):
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.pushes: list[dict] = []
        self._server: ThreadingHTTPServer | None = None

    def entries(self) -> list[tuple[dict, str, dict]]:
        """(labels, line, structured metadata) of every value received, in arrival order."""
        return [
            (s["stream"], v[1], v[2] if len(v) == 3 else {})
            for p in list(self.pushes)
            for s in p["streams"]
            for v in s["values"]
        ]

    def start(self) -> LokiStandIn:
        loki = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                if self.path != "/loki/api/v1/push":
                    return self._answer(404)
                if self.headers.get("content-type", "").split(";")[0] != "application/json":
                    return self._answer(415)
                try:
                    document = json.loads(body)
                except ValueError:
                    return self._answer(400)
                if not _valid(document):
                    return self._answer(400)
                loki.pushes.append(document)
                self._answer(204)

            def _answer(self, status: int):
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.allow_reuse_address = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
