"""The process that computes the model server's explanations whose inner loop is Python
(scikit-learn's TreeSHAP, Shapley sampling), at the lowest CPU priority.

In a thread of the server they would hold the GIL its event loop needs, and whatever they run in,
they compete with /predict for the server's cores: in their own process at nice 19, the kernel
gives the cores to /predict first, and an explanation takes what answering leaves. LightGBM's and
XGBoost's own TreeSHAP and linear models (C and numpy, ~0.2 ms a row) stay in a thread: sending
them here would cost the server more CPU than computing them (measured in the bench:
`./mlops bench --suites explain`).

One worker per server, started (spawned: a fork of a server with threads is unsafe) at the first such
explanation, about a second once. It keeps the models it was sent by version, so a model and its
background cross once; they are the server's own objects, already loaded under its loading policy,
pickled to its own child over a private pipe (nothing from outside reaches `pickle.loads`). An
explanation past EXPLAIN_TIMEOUT_S stops the worker (a thread could only be abandoned, still
burning the CPU); the next one starts a new worker. It exits when the server does: its end of the
pipe closes.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import threading
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from mlops_base.explain.explainers import Explanation

NICE = 19  # the lowest priority: /predict first
KEPT_MODELS = 4  # the worker forgets the oldest model beyond these (two aliases, and a swap each)


class WorkerTimeout(TimeoutError):
    """The worker did not answer within the time allowed: it was stopped."""


class WorkerStopped(RuntimeError):
    """The worker died under an explanation (e.g. out of memory); the next one starts a new one."""


class _NotKept(Exception):
    """The worker has no model under that key (never sent, forgotten, or a new worker)."""


def _serve(connection: Connection) -> None:
    """The worker's loop: (key, model and background pickled or None, rows) -> ("ok", explanation)
    or ("error", the exception); until the server's end of the pipe closes."""
    os.nice(NICE)  # after the answers: a process can lower its priority, never raise it again
    from mlops_base.explain.explainers import explain

    kept: dict[str, tuple[Any, Any]] = {}
    while True:
        try:
            key, payload, x = connection.recv()
        except (EOFError, OSError):
            return
        try:
            if payload is not None:
                kept[key] = pickle.loads(payload)  # the server's own objects, over its own pipe
                while len(kept) > KEPT_MODELS:
                    kept.pop(next(iter(kept)))
            if key not in kept:
                raise _NotKept(key)
            model, background = kept[key]
            answer: tuple[str, Any] = ("ok", explain(model, x, background))
        except Exception as exc:  # the server raises it: NeedsBackground, a model's own error
            answer = ("error", exc)
        try:
            connection.send(answer)
        except (BrokenPipeError, OSError):
            return


class ExplainWorker:
    """The server's side: `explain` blocks (call it in a thread), one explanation at a time."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self._lock = threading.Lock()
        self._process: multiprocessing.process.BaseProcess | None = None
        self._connection: Connection | None = None
        self.models_sent = 0  # how many times a model crossed (once per version and worker)

    def explain(self, key: str, model: Any, x: pd.DataFrame, background: pd.DataFrame | None) -> Explanation:
        with self._lock:
            try:
                return self._ask(key, None, x)
            except _NotKept:
                self.models_sent += 1
                return self._ask(key, pickle.dumps((model, background), protocol=pickle.HIGHEST_PROTOCOL), x)

    def _ask(self, key: str, payload: bytes | None, x: pd.DataFrame) -> Explanation:
        connection = self._connection or self._start()
        try:
            connection.send((key, payload, x))
            answered = connection.poll(self.timeout_s)
            status, value = connection.recv() if answered else ("late", None)
        except (EOFError, OSError) as exc:  # the worker died (e.g. out of memory): a new one next time
            self.close()
            raise WorkerStopped(f"the explanation worker stopped: {exc!r}") from exc
        if status == "late":
            self.close()
            raise WorkerTimeout(f"no explanation within {self.timeout_s:g} s: the worker was stopped")
        if status == "error":
            raise value
        return value

    def _start(self) -> Connection:
        context = multiprocessing.get_context("spawn")
        mine, theirs = context.Pipe()
        self._process = context.Process(target=_serve, args=(theirs,), name="mlops-explain", daemon=True)
        self._process.start()
        theirs.close()  # the worker's end lives in the worker only: it sees EOF when this process ends
        self._connection = mine
        return mine

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
        if self._process is not None:
            self._process.kill()
            self._process.join(5)
        self._connection = self._process = None
