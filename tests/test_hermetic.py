"""The suite's own guards can fail: a write outside the temporary directories is recorded, the
user's credentials are removed from the environment."""

from __future__ import annotations

from pathlib import Path

from tests import hermetic


def test_the_guard_records_a_write_outside_its_roots_and_not_inside(tmp_path):
    guard = hermetic.WriteGuard(tmp_path / "allowed")
    (tmp_path / "allowed").mkdir()
    outside = Path("/opt/mlops-hermetic-check/never-written")  # not a temporary dir, wherever the clone is
    assert guard.allowed(str(tmp_path / "allowed" / "file"))
    assert not guard.allowed(str(outside))
    assert not guard.allowed(str(Path.home() / ".mlops-test"))
    guard._audit("open", (str(outside), "w", 0))
    guard._audit("open", (str(outside), "r", 0))
    guard._audit("open", (str(tmp_path / "allowed" / "file"), "a", 0))
    assert guard.violations == [str(outside)]


def test_the_users_webhooks_and_credentials_are_scrubbed():
    environ = {
        "SLACK_WEBHOOK_URL": "https://hooks.example/x",
        "AWS_SECRET_ACCESS_KEY": "k",
        "RELOAD_SECRET_TOKEN": "t",
        "MLOPS_ENV": "prod",
        "MLFLOW_TRACKING_URI": "http://elsewhere",
        "GITHUB_TOKEN": "g",
        "PATH": "/usr/bin",
        "LANG": "C.UTF-8",
    }
    removed = hermetic.scrub_environment(environ)
    assert environ == {"PATH": "/usr/bin", "LANG": "C.UTF-8"}
    assert "SLACK_WEBHOOK_URL" in removed


def test_a_file_written_under_the_state_dir_is_named_and_others_platforms_are_left_out(tmp_path):
    state = tmp_path / ".mlops"
    (state / "dev").mkdir(parents=True)
    (state / "dev" / "platform.json").write_text("{}")  # a platform `./mlops up` runs on dev
    (state / "prod").mkdir()
    skip = hermetic.not_the_suites(state)
    before = hermetic.snapshot(state, skip)
    (state / "dev" / "logs.jsonl").write_text("its own log")
    (state / "prod" / "leaked.db").write_text("a test's")
    assert hermetic.changed(before, hermetic.snapshot(state, skip)) == ["prod/leaked.db"]
