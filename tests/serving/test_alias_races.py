"""The alias moved v1 -> v2 -> v3 within a second, each move followed by its reload (as the
release runs send them, with the version they expect), against a real uvicorn: the served version
only ever moves forward and ends on the registry's final alias; a reload for a version the alias
has already left answers 409 instead of loading it."""

from __future__ import annotations

import threading

import httpx
from mlflow import MlflowClient

from mlops_platform import processes
from tests.support import TOKEN, register_model, start_server

AUTH = {"Authorization": f"Bearer {TOKEN}"}


def test_a_fast_moving_alias_converges_and_never_goes_back(mlflow_server, tmp_path):
    model = register_model(mlflow_server, n_versions=3)
    v1, v2, v3 = model.versions
    client = MlflowClient(mlflow_server)
    client.set_registered_model_alias(model.name, "B", v1)
    server = start_server(tmp_path, {"MLFLOW_TRACKING_URI": mlflow_server, "MODEL_NAME": model.name})
    seen: list[str] = []
    stop = threading.Event()

    def watch() -> None:
        with httpx.Client(base_url=server.url, timeout=10) as http:
            while not stop.is_set():
                seen.append(http.get("/models").json()["models"]["B"]["version"])

    watcher = threading.Thread(target=watch)
    watcher.start()
    answers: dict[str, int] = {}
    reloads = []
    try:
        for version in (v2, v3):
            client.set_registered_model_alias(model.name, "B", version)
            reload = threading.Thread(
                target=lambda v=version: answers.__setitem__(
                    v,
                    httpx.post(
                        f"{server.url}/variant/B/reload", json={"version": v}, headers=AUTH, timeout=60
                    ).status_code,
                )
            )
            reload.start()
            reloads.append(reload)
        for reload in reloads:
            reload.join()
        processes.wait_until(server, lambda: seen and seen[-1] == v3, timeout_s=30)
    finally:
        stop.set()
        watcher.join()
        processes.stop(server)

    assert answers[v3] == 200 and answers[v2] in (200, 409), answers  # v2's reload may find the alias gone
    order = {v1: 1, v2: 2, v3: 3}
    assert all(order[a] <= order[b] for a, b in zip(seen, seen[1:], strict=False)), (
        f"the served version went back: {seen}"
    )
    assert seen[-1] == v3
