"""The launcher's watcher reloads once per settled change of the env's files, and keeps watching
when a reload fails. The reload with a real `dagster dev` is in test_cli_up.py and `./mlops bench`."""

from __future__ import annotations

import time
from pathlib import Path

from mlops_platform.env_watch import POLL_S, EnvWatcher


def _wait(condition, timeout_s: float = 10) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_one_reload_per_settled_change_and_none_without_one(tmp_path: Path):
    env_file = tmp_path / "platform.env"
    env_file.write_text("ESTIMATOR_PARAMS={}\n")
    calls = []
    with EnvWatcher(tmp_path, lambda: calls.append(env_file.read_text()), say=lambda line: None) as watcher:
        time.sleep(3 * POLL_S)
        assert calls == []  # the files as loaded: nothing to do
        for c in range(5):  # a burst of writes (a checkout): one reload, of the last content
            env_file.write_text(f"ESTIMATOR_PARAMS={{'C': {c}}}\n")
        _wait(lambda: len(calls) == 1)
        time.sleep(3 * POLL_S)
        assert calls == ["ESTIMATOR_PARAMS={'C': 4}\n"] and len(watcher.reloaded_at) == 1
        (tmp_path / "optional").mkdir()
        (tmp_path / "optional" / "new.yaml").write_text("x: 1\n")  # a new file in a subfolder counts
        _wait(lambda: len(calls) == 2)


def test_a_failed_reload_is_said_and_the_next_change_reloads(tmp_path: Path):
    env_file = tmp_path / "platform.env"
    env_file.write_text("A=1\n")
    said, attempts = [], []

    def reload() -> None:
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("reloading the code location failed: webserver restarting")

    with EnvWatcher(tmp_path, reload, say=said.append) as watcher:
        env_file.write_text("A=2\n")
        _wait(lambda: len(said) == 1)
        assert "reloading the code location failed: webserver restarting" in said[0] and not watcher.reloaded_at
        env_file.write_text("A=3\n")
        _wait(lambda: len(watcher.reloaded_at) == 1)
        assert "code location reloaded" in said[1]
