"""`mlops traffic`: against a real model server the observed split matches the configured one; the
verdict and the exit code say when it does not, and a server that cannot be reached is one line."""

from __future__ import annotations

from collections import Counter

import pytest

from mlops_platform import cli, processes
from mlops_platform.traffic import judge, report
from tests.support import start_server

CANARY = {
    "routing": {
        "mode": "canary",
        "default_alias": "A",
        "configured_split": {"A": 70, "B": 30},
        "effective_split": {"A": 70, "B": 30},
    }
}


def test_traffic_report_shows_the_canary_split(mlflow_server, shared_model, tmp_path):
    service = start_server(
        tmp_path,
        {
            "MLFLOW_TRACKING_URI": mlflow_server,
            "MODEL_NAME": shared_model.name,
            "ALIAS_SELECTION_MODE": "canary",
            "CANARY_PERCENT": "30",
        },
    )
    try:
        # fixed client ids: the split is then the same every run (random ones miss the 99% interval 1 run in 100)
        measured = report(service.url, n=1000, client_prefix="traffic-test")
    finally:
        processes.stop(service)
    print(measured.text)
    lines = measured.text.splitlines()
    assert "mode canary" in lines[0] and "statuses {200: 1000}" in lines[0]
    a_line = next(line for line in lines if line.startswith("A (v"))
    b_line = next(line for line in lines if line.startswith("B (v"))
    assert "70%" in a_line and "30%" in b_line
    assert a_line.endswith(" ok") and b_line.endswith(" ok") and measured.problems == []


def test_a_share_outside_its_interval_and_failed_requests_are_problems():
    skewed = judge(CANARY, Counter(A=500, B=500), Counter({200: 1000}), {"A": {"1"}, "B": {"2"}}, 1000, 0.99)
    assert [p.split(" took")[0] for p in skewed.problems] == ["A", "B"]
    assert skewed.text.splitlines()[2].endswith("OUTSIDE")
    failing = judge(CANARY, Counter(A=70, B=30), Counter({200: 100, 503: 5}), {"A": {"1"}, "B": {"2"}}, 105, 0.99)
    assert failing.problems == ["5 of 105 requests failed"]


def test_the_cli_exits_2_in_one_line_when_the_server_cannot_be_reached(capsys):
    assert cli.main(["traffic", "--url", f"http://127.0.0.1:{processes.free_port()}", "-n", "3"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: cannot measure the model server at ") and err.count("\n") == 1


def test_the_env_is_taken_before_or_after_the_command(capsys):
    for argv in (["--env", "no-such-env", "traffic"], ["traffic", "--env", "no-such-env"]):
        assert cli.main(argv) == 2
        assert "unknown env 'no-such-env'" in capsys.readouterr().err


def test_version_and_help_list_every_command(capsys):
    with pytest.raises(SystemExit) as version:
        cli.main(["--version"])
    assert version.value.code == 0 and capsys.readouterr().out.startswith("mlops ")
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    shown = capsys.readouterr().out
    for command in ("up", "materialize", "layers", "traffic", "demo", "test", "bench", "exit codes"):
        assert command in shown
