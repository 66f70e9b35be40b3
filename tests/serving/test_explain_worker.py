"""The explanation worker process: the same explanation as in the server's own process, at the
lowest CPU priority, a model sent once, a worker past its time stopped (and the next explanation
served by a new one), the explainer's errors raised in the server, and no worker outliving the
server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import RandomForestClassifier
from sklearn.neighbors import KNeighborsClassifier

from mlops_base.explain.explainers import NeedsBackground, explain
from serving.explain_worker import NICE, ExplainWorker, WorkerTimeout

DATA = load_breast_cancer(as_frame=True)
X, Y = DATA.data, DATA.target


class SlowModel:
    """A model whose every call takes a second: its sampled explanation takes minutes."""

    def predict(self, x):
        time.sleep(1)
        return np.zeros(len(x))


@pytest.fixture
def worker():
    found = ExplainWorker(timeout_s=60)
    yield found
    found.close()


def test_a_forest_is_explained_in_the_worker_as_in_process_and_crosses_once(worker):
    forest = RandomForestClassifier(n_estimators=10, max_depth=4, random_state=0).fit(X, Y)
    here = explain(forest, X.head(3), None)
    there = worker.explain("forest/1", forest, X.head(3), None)
    assert there.method == here.method == "tree_shap"
    assert np.array_equal(there.phi, here.phi) and np.array_equal(there.base, here.base)
    worker.explain("forest/1", forest, X.tail(2), None)
    assert worker.models_sent == 1
    assert os.getpriority(os.PRIO_PROCESS, worker._process.pid) == NICE != os.getpriority(os.PRIO_PROCESS, 0)


def test_the_explainers_errors_are_raised_here(worker):
    neighbours = KNeighborsClassifier().fit(X, Y)
    with pytest.raises(NeedsBackground):
        worker.explain("knn/1", neighbours, X.head(1), None)


def test_a_worker_past_its_time_is_stopped_and_the_next_explanation_gets_a_new_one():
    worker = ExplainWorker(timeout_s=2)
    try:
        with pytest.raises(WorkerTimeout):
            worker.explain("slow/1", SlowModel(), X.head(1), X.head(5))
        assert worker._process is None  # stopped, not abandoned
        worker.timeout_s = 60  # a new worker starts (spawned, its imports): slower on a loaded host
        forest = RandomForestClassifier(n_estimators=5, max_depth=3, random_state=0).fit(X, Y)
        assert worker.explain("forest/1", forest, X.head(1), None).method == "tree_shap"
    finally:
        worker.close()


SERVER = """
import os, sys
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import RandomForestClassifier
from serving.explain_worker import ExplainWorker
x, y = load_breast_cancer(return_X_y=True, as_frame=True)
worker = ExplainWorker(timeout_s=60)
worker.explain("f/1", RandomForestClassifier(n_estimators=3, random_state=0).fit(x, y), x.head(1), None)
print(worker._process.pid, flush=True)
sys.stdin.read()
"""


def test_the_worker_ends_when_the_server_is_killed():
    server = subprocess.Popen([sys.executable, "-c", SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        child = int(server.stdout.readline())
        os.kill(server.pid, signal.SIGKILL)  # no clean-up runs: only the closed pipe tells the worker
        server.wait(10)
        deadline = time.monotonic() + 10
        while _alive(child) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(child), f"the worker {child} outlived its server"
    finally:
        server.kill()
        server.wait()


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except FileNotFoundError:
        return False
