"""The whole local platform with the Dagster daemon: releases with no manual step, and a rollback.

This is the end-to-end test of the sensors: `run_demo` starts real MLflow, model server and
`dagster dev` processes, launches train_job through the webserver, and waits for the readiness
sensor to get each version served; then injects a deploy failure (a corrupt artifact) and waits
for the rollback sensor to restore the alias and the served model; then runs an online experiment
(evaluation layer on, outcomes of known accuracies fed back) and waits for the layer's sensor to
promote the better challenger through promote_job; then restarts it with the drift layer on and
AUTO_RETRAIN: traffic like the training data starts nothing, shifted traffic with its outcomes is
retrained on, gated and released as B by the drift sensor within 120 s of the alarm.
"""

from __future__ import annotations

import pytest

from demo.flow import run_demo

pytestmark = [pytest.mark.real, pytest.mark.slow]  # the whole platform: MLflow, uvicorn, Dagster


def test_release_without_hands_and_automatic_rollback(tmp_path, capfd):
    report = run_demo(tmp_path / "state", releases=2)
    printed = "".join(capfd.readouterr())  # what `./mlops demo` shows: no library noise
    assert not [noise for noise in ("Downloading artifacts", "🏃", "View run", "Traceback") if noise in printed]

    print(report.summary())
    assert len(report.serve_times) == 2
    assert report.rolled_back, report.lines
    assert any(line.startswith("promote: champion A = v1") for line in report.lines)
    assert any("statuses {200: 1000}" in line for line in report.lines)
    assert report.evaluation is not None
    assert any(line.endswith("-> better") for line in report.lines), report.lines
    assert any(line.startswith("promoted by the evaluation layer") for line in report.lines), report.lines
    assert any(line.endswith("SUCCESS, trigger evaluation") for line in report.lines), report.lines
    assert any(line.endswith("watching, 0 drift runs after 40s") for line in report.lines), report.lines
    assert report.drift_release_s is not None and report.drift_release_s <= 120
