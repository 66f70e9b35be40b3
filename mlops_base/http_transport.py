"""Keep-alive HTTP/1.1 requests over the standard library, for the registry client.

httpx cost the model server ~70 ms of every start (it imports rich for its command line) and ~20-40
ms for each client it made (an SSL context is built even for an http:// registry): a tenth of the
server's start to ready, measured. The registry client needs a few JSON requests and a file
download, which `http.client` does; idle connections are kept for reuse and handed to one thread at
a time (the server's loader and alias watch share a client).
"""

from __future__ import annotations

import functools
import http.client
import ssl
import threading
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit

CHUNK_BYTES = 1 << 20


class NoAnswer(Exception):
    """The server could not be reached, or the connection failed before a whole answer came."""


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """The system's trust store (SSL_CERT_FILE / SSL_CERT_DIR honoured), built once, when an
    https:// URL is first used."""
    return ssl.create_default_context()


class Transport:
    def __init__(self, base_url: str, timeout_s: float):
        url = urlsplit(base_url)
        self._scheme, self._host, self._port = url.scheme, url.hostname, url.port
        self._prefix = url.path.rstrip("/")
        self._timeout_s = timeout_s
        self._idle: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()

    def request(
        self,
        method: str,
        path: str,
        params: dict[str, str] | None = None,
        body: bytes | None = None,
        stream_to: Path | None = None,
    ) -> tuple[int, bytes]:
        """The status and body (with `stream_to`, a 200's body is written there and b"" returned).
        A kept-alive connection the server closed meanwhile is replaced once, at once."""
        target = quote(self._prefix + path) + (f"?{urlencode(params)}" if params else "")
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        while True:
            connection, reused = self._take()
            try:
                connection.request(method, target, body=body, headers=headers)
                response = connection.getresponse()
                if response.status == 200 and stream_to is not None:
                    with stream_to.open("wb") as file:
                        while chunk := response.read(CHUNK_BYTES):
                            file.write(chunk)
                    data = b""
                else:
                    data = response.read()
            except (OSError, http.client.HTTPException) as exc:
                connection.close()
                if reused:
                    continue
                raise NoAnswer(f"{type(exc).__name__}: {exc}") from exc
            if response.will_close:
                connection.close()
            else:
                with self._lock:
                    self._idle.append(connection)
            return response.status, data

    def _take(self) -> tuple[http.client.HTTPConnection, bool]:
        with self._lock:
            if self._idle:
                return self._idle.pop(), True
        if self._scheme == "http" and self._host:
            return http.client.HTTPConnection(self._host, self._port, timeout=self._timeout_s), False
        if self._scheme == "https" and self._host:
            return http.client.HTTPSConnection(
                self._host, self._port, timeout=self._timeout_s, context=_tls_context()
            ), False
        raise NoAnswer(f"not an http(s) URL: {self._scheme or 'no scheme'}://{self._host or ''}")
