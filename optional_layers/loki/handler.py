"""A Loki push handler: records are queued (bounded) by `emit`, which never blocks; one thread
sends them in batches to Loki's JSON push API, retrying with backoff while Loki is down, counting
what it has to drop, and flushing what is left on close."""

from __future__ import annotations

import atexit
import logging
import queue
import threading
import time

import httpx

from optional_layers.loki.formatter import JsonFormatter

LABELS = ("env", "component", "alias")  # few values each: Loki's streams; the rest is structured metadata
PUSH_PATH = "/loki/api/v1/push"


class LokiHandler(logging.Handler):
    def __init__(
        self,
        url: str,
        formatter: JsonFormatter,
        *,
        capacity: int = 10_000,
        batch_size: int = 500,
        batch_wait_s: float = 0.5,
        timeout_s: float = 5.0,
        max_backoff_s: float = 10.0,
    ):
        super().__init__()
        self.url = url.rstrip("/") + PUSH_PATH
        self.json = formatter
        self.batch_size, self.batch_wait_s, self.max_backoff_s = batch_size, batch_wait_s, max_backoff_s
        self.queue: queue.Queue[tuple[int, dict[str, str]] | None] = queue.Queue(capacity)
        self.dropped = 0
        self.sent = 0
        self.failed_pushes = 0
        self._client = httpx.Client(timeout=timeout_s)
        self._closing = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._thread = threading.Thread(target=self._run, name="loki-push", daemon=True)
        self._thread.start()
        atexit.register(self.stop)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            entry = (time.time_ns(), self.json.document(record))
        except Exception:
            self.handleError(record)
            return
        try:
            self.queue.put_nowait(entry)
            self._idle.clear()
        except queue.Full:
            self.dropped += 1  # Loki is down or slow and the queue is full: counted, never waited for

    def _take(self) -> list[tuple[int, dict[str, str]]]:
        """Up to batch_size records, waiting at most batch_wait_s after the first."""
        try:
            first = self.queue.get(timeout=self.batch_wait_s)
        except queue.Empty:
            return []
        batch = [first] if first is not None else []
        deadline = time.monotonic() + self.batch_wait_s
        while len(batch) < self.batch_size:
            try:
                entry = self.queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if entry is not None:
                batch.append(entry)
        return batch

    def body(self, batch: list[tuple[int, dict[str, str]]]) -> dict:
        """Streams by label set, each in arrival order; the other fields as structured metadata."""
        streams: dict[tuple[tuple[str, str], ...], list] = {}
        for stamp, document in batch:
            labels = tuple((name, document[name]) for name in LABELS if document.get(name))
            metadata = {k: v for k, v in document.items() if k not in LABELS and k != "message"}
            line = f"{document['level']} {document['logger']}: {document['message']}"
            streams.setdefault(labels, []).append([str(stamp), line, metadata])
        return {"streams": [{"stream": dict(labels), "values": values} for labels, values in streams.items()]}

    def _push(self, batch: list[tuple[int, dict[str, str]]]) -> None:
        """Until Loki takes it (or the handler closes and gives up): backoff 0.5 s, doubling."""
        backoff = 0.5
        while True:
            try:
                response = self._client.post(self.url, json=self.body(batch))
                if response.status_code < 300:
                    self.sent += len(batch)
                    return
                if 400 <= response.status_code < 500 and response.status_code != 429:
                    self.dropped += len(batch)  # Loki refuses this batch for good: retrying cannot help
                    return
            except httpx.HTTPError:
                pass
            self.failed_pushes += 1
            if self._closing.wait(backoff):
                self.dropped += len(batch)
                return
            backoff = min(backoff * 2, self.max_backoff_s)

    def _run(self) -> None:
        while not (self._closing.is_set() and self.queue.empty()):
            batch = self._take()
            if batch:
                self._push(batch)
            if self.queue.empty():
                self._idle.set()

    def flush(self, timeout_s: float = 5.0) -> bool:
        """Wait until everything queued so far was sent (or given up); False on timeout."""
        return self._idle.wait(timeout_s)

    def close(self) -> None:
        """Flush, and keep sending: `logging.config.dictConfig` closes every handler of the process
        (Dagster calls it when it sets up a run's log), so closing is not the end; `stop` is, at exit."""
        self.flush(5.0)
        super().close()

    def stop(self) -> None:
        """At interpreter exit (before logging's own shutdown): send what is queued, then stop."""
        if not self._closing.is_set():
            self.flush(5.0)
            self._closing.set()
            if not self.queue.full():
                self.queue.put(None)
            self._thread.join(timeout=10)
            self._client.close()
