"""A routing change is a commit, not a restart: the server follows its env's `platform.env` (the
fast tier, on the fake registry; the file is a copy of the dev env's). No request fails while the
split changes; a file that no longer reads changes nothing; other settings wait for a restart."""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time

from mlops_base.settings import REPO_ROOT
from tests.fakes import fake_server

ROW = {"data": [[1, 1, 1, 1]]}


def _env_file(tmp_path):
    envs = tmp_path / "envs"
    shutil.copytree(REPO_ROOT / "envs" / "dev", envs / "dev")
    return envs, envs / "dev" / "platform.env"


def _edit(path, **values) -> None:
    lines = [line for line in path.read_text().splitlines() if line.split("=")[0] not in values]
    path.write_text("\n".join([*lines, *(f"{k}={v}" for k, v in values.items())]) + "\n")
    stat = path.stat()  # a second edit within the same tick of the clock still reads as changed
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))


def _split(client) -> dict:
    return client.get("/health").json()["routing"]


def _wait(client, condition, timeout_s: float = 5.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while not condition(routing := _split(client)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return routing


def test_a_committed_split_reaches_the_running_server_without_a_failed_request(tmp_path):
    envs, env_file = _env_file(tmp_path)
    with fake_server(mlops_envs_dir=envs) as (client, _):
        assert _split(client)["configured_split"] == {"A": 90, "B": 10}
        statuses, stop = [], threading.Event()

        def traffic() -> None:
            while not stop.is_set():
                statuses.append(client.post("/predict", json=ROW).status_code)

        sender = threading.Thread(target=traffic)
        sender.start()
        try:
            _edit(env_file, ALIAS_SELECTION_MODE="canary", CANARY_PERCENT="40")
            routing = _wait(client, lambda r: r["mode"] == "canary")
            assert routing["configured_split"] == {"A": 60, "B": 40}
            _edit(env_file, ALIAS_SELECTION_MODE="blue_green", DEFAULT_ALIAS="B")
            routing = _wait(client, lambda r: r["mode"] == "blue_green")
        finally:
            stop.set()
            sender.join()
        assert (routing["default_alias"], routing["configured_split"]) == ("B", {"A": 0, "B": 100})
        assert client.get("/ready").status_code == 200
        assert len(statuses) > 50 and set(statuses) == {200}


def test_a_file_that_no_longer_reads_keeps_the_routing_and_other_settings_wait_for_a_restart(tmp_path, caplog):
    envs, env_file = _env_file(tmp_path)
    with fake_server(mlops_envs_dir=envs) as (client, _), caplog.at_level(logging.INFO, "serving.routing_watch"):
        _edit(env_file, AB_TEST_PERCENT="150")
        deadline = time.monotonic() + 5
        while "does not read" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "AB_TEST_PERCENT" in caplog.text and _split(client)["configured_split"]["B"] == 10
        _edit(env_file, AB_TEST_PERCENT="20", MAX_ROWS="5")
        assert _wait(client, lambda r: r["configured_split"]["B"] == 20)["configured_split"]["B"] == 20
        restart = [r.message for r in caplog.records if "applied at the next restart" in r.message]
        assert restart and "MAX_ROWS" in restart[-1]
