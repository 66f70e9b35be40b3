"""`mlops materialize` shows each step's outcome and the platform's messages; Dagster's debug
events, library warnings, MLflow's download bars and emoji links go to the log file only."""

from __future__ import annotations

import sys

from mlops_platform.run_output import condensed, run_condensed

RUN = "236fc03a-ccde-4116-9b99-a536f908ede1"
PREFIX = f"2026-12-01 07:54:28 +0000 - dagster - %s - __ASSET_JOB - {RUN} - "
OUTPUT = [
    "/x/click/core.py:911: SupersessionWarning: Function `asset_materialize_command` is superseded",
    "Downloading artifacts:  14%|█▍        | 1/7 [00:00<00:00, 52.38it/s]",
    "🏃 View run chill-shark-423 at: http://127.0.0.1:5000/#/experiments/1/runs/a61ec8a0",
    PREFIX % "DEBUG" + '6985 - served_alias - STEP_START - Started execution of step "served_alias".',
    PREFIX % "INFO" + "served_alias - alias B of iris-classifier moved v1 -> v2 (release of v2)",
    PREFIX % "INFO" + 'served_alias - lifecycle event served {"after_version": "2"}',
    PREFIX % "WARNING" + 'trained_model_quality_gate - lifecycle event gate_failed {"metric": "accuracy"}',
    PREFIX % "DEBUG" + '6985 - served_alias - STEP_SUCCESS - Finished execution of step "served_alias" in 522ms.',
    PREFIX % "DEBUG" + '6985 - RUN_SUCCESS - Finished execution of run for "__ASSET_JOB".',
]


def test_only_outcomes_the_platforms_messages_and_failed_events_are_shown():
    assert [line for line in map(condensed, OUTPUT) if line] == [
        "served_alias - alias B of iris-classifier moved v1 -> v2 (release of v2)",
        'trained_model_quality_gate - lifecycle event gate_failed {"metric": "accuracy"}',
        'served_alias - STEP_SUCCESS - Finished execution of step "served_alias" in 522ms.',
        'RUN_SUCCESS - Finished execution of run for "__ASSET_JOB".',
    ]


def test_everything_goes_to_the_log_and_a_failure_says_why(tmp_path):
    shown = []
    script = "import sys; print('🏃 View run x'); print('ValueError: bad selection'); sys.exit(3)"
    code = run_condensed([sys.executable, "-c", script], tmp_path / "run.log", shown.append)
    assert code == 3
    assert (tmp_path / "run.log").read_text() == "🏃 View run x\nValueError: bad selection\n"
    assert shown == ["error: ValueError: bad selection", f"failed; the full output: {tmp_path / 'run.log'}"]
