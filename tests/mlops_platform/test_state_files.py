"""`mlops logs` and `mlops reset` on an env's state dir, and the record `up` leaves for the other
commands: a record whose launcher is gone is not a running platform."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mlops_base.settings import load_settings
from mlops_platform import runtime, state_files


@pytest.fixture
def settings(tmp_path, monkeypatch):
    monkeypatch.setenv("MLOPS_STATE_DIR", str(tmp_path / "state"))
    return load_settings("dev")


def test_logs_tail_one_service_or_each(settings):
    logs = settings.state_dir / "logs"
    (logs / "alerting").mkdir(parents=True)
    (logs / "serving.log").write_text("".join(f"line {i}\n" for i in range(30)))
    (logs / "alerting" / "prometheus.log").write_text("ready\n")
    shown = []
    state_files.show_logs(settings, "serving", 2, follow=False, write=shown.append)
    assert shown == ["line 28\nline 29\n"]
    shown.clear()
    state_files.show_logs(settings, None, 1, follow=False, write=shown.append)
    assert shown == ["==> prometheus (prometheus.log) <==\n", "ready\n", "==> serving (serving.log) <==\n", "line 29\n"]
    with pytest.raises(state_files.NotFound, match="no log for 'dagster'; logs: prometheus, serving"):
        state_files.show_logs(settings, "dagster", 1, follow=False, write=shown.append)


def test_no_logs_before_a_first_start(settings):
    with pytest.raises(state_files.NotFound, match="has not been started"):
        state_files.show_logs(settings, None, 1, follow=False)


def test_reset_deletes_the_state_dir_only(settings, tmp_path):
    (settings.state_dir / "mlflow").mkdir(parents=True)
    assert state_files.reset(settings) == settings.state_dir and not settings.state_dir.exists()
    assert settings.env_dir.is_dir()


def test_reset_refuses_a_home_or_root_state_dir(monkeypatch, tmp_path):
    """A home directory of the test's own: were the guard to regress, it deletes nothing of the user's."""
    home = tmp_path / "home"
    (home / "keep").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    for state_dir in (home, Path("/")):
        monkeypatch.setenv("MLOPS_STATE_DIR", str(state_dir))
        with pytest.raises(state_files.NotFound, match="refusing to delete"):
            state_files.reset(load_settings("dev"))
    assert (home / "keep").is_dir()


def test_a_record_is_running_only_while_its_launcher_lives(settings):
    settings.state_dir.mkdir(parents=True)
    runtime.record(settings, {"mlflow": "http://127.0.0.1:1", "serving-1": "http://a", "balancer": "http://b"})
    found = runtime.running(settings)
    assert found is not None and found.pid == os.getpid() and found.serving_urls == ["http://a"]
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    path = settings.state_dir / "platform.json"
    path.write_text(path.read_text().replace(str(os.getpid()), gone.stdout.strip()))
    assert runtime.running(settings) is None
    runtime.forget(settings)
    assert not path.exists() and runtime.running(settings) is None
