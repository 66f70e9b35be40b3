"""A slow, then dead, registry in front of a real one: a TCP proxy on a loopback port."""

from __future__ import annotations

import socket
import threading
import time

from mlops_platform.processes import free_port


class DelayingProxy:
    """A TCP proxy on a loopback port that holds each new connection `delay_s` before relaying it
    to `target_port`: a slow registry in front of a real one, which `go_down` kills. `delay_s` may
    change while it runs."""

    def __init__(self, target_port: int, delay_s: float):
        self.delay_s = delay_s
        self.target_port = target_port
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._closed = threading.Event()
        self._open: set[socket.socket] = set()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            threading.Thread(target=self._relay, args=(client,), daemon=True).start()

    def _relay(self, client: socket.socket) -> None:
        time.sleep(self.delay_s)
        try:
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
        except OSError:
            client.close()
            return
        self._open |= {client, upstream}
        # the registry answers only its own Host (MLflow's --allowed-hosts): requests name it
        host = (f"127.0.0.1:{self.port}".encode(), f"127.0.0.1:{self.target_port}".encode())
        for source, sink, rewrite in ((client, upstream, host), (upstream, client, None)):
            threading.Thread(target=self._pipe, args=(source, sink, rewrite), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket, rewrite: tuple[bytes, bytes] | None) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk.replace(*rewrite) if rewrite else chunk)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def go_down(self) -> None:
        """The registry dies: open connections are cut, new ones refused."""
        self.target_port = free_port()
        for end in list(self._open):
            try:
                end.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self) -> None:
        self._closed.set()
        self._server.close()
