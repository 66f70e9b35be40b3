"""Start-up and restarts against a real uvicorn and a real MLflow behind a delaying proxy (a slow
registry): the server answers at once, /ready and /predict say 503 until the aliases are in; a
server killed in the middle of a reload and restarted loads the registry's aliases again; a
registry that goes away during a reload answers 503 while the old model keeps serving."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from urllib.parse import urlparse

import httpx
import pytest

from mlops_platform import processes
from tests.delaying_proxy import DelayingProxy
from tests.support import ROW, TOKEN, start_model_server, start_server

AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def slow_registry(mlflow_server):
    proxy = DelayingProxy(urlparse(mlflow_server).port, delay_s=3.0)
    try:
        yield proxy
    finally:
        proxy.close()


def _start(tmp_path, registry_url: str, model, port: int | None = None) -> processes.Service:
    return start_model_server(
        tmp_path,
        {
            "RELOAD_SECRET_TOKEN": TOKEN,
            "MLOPS_ENV": "dev",
            "MLFLOW_TRACKING_URI": registry_url,
            "MODEL_NAME": model.name,
        },
        port=port,
        wait_for_models=False,
    )


def _until_ready(service: processes.Service) -> list[int]:
    """The /ready statuses seen until it answers 200."""
    statuses: list[int] = []

    def ready() -> bool:
        statuses.append(httpx.get(f"{service.url}/ready", timeout=10).status_code)
        return statuses[-1] == 200

    processes.wait_until(service, ready, timeout_s=120)
    return statuses


def _served(service: processes.Service) -> dict[str, str]:
    """What each alias serves once the start-up load is over (the challenger loads after the
    champion, which alone makes the server ready)."""
    processes.wait_until(
        service, lambda: not httpx.get(f"{service.url}/health", timeout=10).json()["loading"], timeout_s=120
    )
    return {a: m["version"] for a, m in httpx.get(f"{service.url}/models", timeout=10).json()["models"].items()}


def test_a_slow_registry_delays_readiness_not_the_server(slow_registry, shared_model, tmp_path):
    service = _start(tmp_path, slow_registry.url, shared_model)
    try:
        not_yet = httpx.get(f"{service.url}/ready", timeout=10)
        assert not_yet.status_code == 503 and "still loading" in not_yet.json()["detail"]
        assert httpx.get(f"{service.url}/health", timeout=10).json()["loading"] is True
        assert httpx.post(f"{service.url}/predict", json={"data": [ROW]}, timeout=10).status_code == 503
        _until_ready(service)
        assert _served(service) == {"A": shared_model.versions[0], "B": shared_model.versions[1]}
    finally:
        processes.stop(service)


def test_killed_mid_reload_and_restarted_it_loads_the_aliases_again(slow_registry, shared_model, tmp_path):
    service = _start(tmp_path, slow_registry.url, shared_model)
    port = urlparse(service.url).port
    try:
        _until_ready(service)

        def reload_until_killed() -> None:
            with contextlib.suppress(httpx.HTTPError):  # the server dies under it
                httpx.post(f"{service.url}/variant/B/reload", headers=AUTH, timeout=60)

        reload = threading.Thread(target=reload_until_killed)
        reload.start()
        threading.Event().wait(1.0)  # the reload waits on the slow registry
        os.killpg(service.process.pid, signal.SIGKILL)
        service.process.wait(10)
        reload.join()
    finally:
        processes.stop(service)
    restarted = _start(tmp_path, slow_registry.url, shared_model, port=port)
    try:
        statuses = _until_ready(restarted)
        assert statuses[0] == 503 and statuses[-1] == 200
        assert _served(restarted) == {"A": shared_model.versions[0], "B": shared_model.versions[1]}
    finally:
        processes.stop(restarted)


def test_the_registry_gone_during_a_reload_keeps_the_old_model(slow_registry, shared_model, tmp_path):
    slow_registry.delay_s = 0
    service = start_server(tmp_path, {"MLFLOW_TRACKING_URI": slow_registry.url, "MODEL_NAME": shared_model.name})
    try:
        slow_registry.go_down()
        refused = httpx.post(f"{service.url}/variant/B/reload", headers=AUTH, timeout=120)
        assert refused.status_code == 503 and "registry unreachable" in refused.json()["detail"]
        answer = httpx.post(f"{service.url}/variant/B/predict", json={"data": [ROW]}, timeout=10)
        assert answer.status_code == 200 and answer.json()["version"] == shared_model.versions[1]
        assert httpx.get(f"{service.url}/health", timeout=10).json()["problems"] == ["B"]
        error = httpx.get(f"{service.url}/models", timeout=10).json()["models"]["B"]["last_error"]
        assert error.startswith("registry unreachable")
    finally:
        processes.stop(service)
