"""The quality gate's judgement: the env's metric against its threshold, and against the champion."""

from __future__ import annotations

import pytest

from core_assets.lib.gate import judge
from mlops_base.settings import load_settings


def _trained(metrics: dict, champion: dict | None = None) -> dict:
    return {"metrics": metrics, "champion": champion}


def test_the_default_gate_is_accuracy_against_min_accuracy():
    ok, reasons, _ = judge(_trained({"accuracy": 0.95}), load_settings("dev"))
    assert ok and reasons == ["accuracy 0.9500 >= 0.9"]
    ok, reasons, _ = judge(_trained({"accuracy": 0.85}), load_settings("dev"))
    assert not ok and reasons == ["accuracy 0.8500 fails >= 0.9"]


def test_an_error_metric_is_a_maximum():
    settings = load_settings("dev", task="regression", gate_metric="rmse", gate_threshold=50)
    assert judge(_trained({"rmse": 49.0}), settings)[0]
    assert not judge(_trained({"rmse": 51.0}), settings)[0]


@pytest.mark.parametrize(
    ("metric", "challenger", "champion", "passes"),
    [
        ("accuracy", 0.93, 0.95, True),  # 0.02 worse: within 0.03
        ("accuracy", 0.91, 0.95, False),  # 0.04 worse
        ("log_loss", 0.34, 0.30, False),  # higher loss is worse
        ("log_loss", 0.25, 0.30, True),  # better
    ],
)
def test_the_champion_gate_compares_on_the_same_split(metric, challenger, champion, passes):
    settings = load_settings(
        "dev", gate_metric=metric, gate_threshold=0.9 if metric == "accuracy" else 1.0, gate_max_regression=0.03
    )
    trained = _trained({metric: challenger}, {"version": "4", "metrics": {metric: champion}, "error": None})
    ok, reasons, scores = judge(trained, settings)
    assert ok is passes
    assert reasons[1].startswith(f"champion v4 {metric} {champion:.4f}: challenger worse by")
    assert (scores["challenger"], scores["champion"], scores["champion_version"]) == (challenger, champion, "4")


def test_no_champion_yet_is_said_and_judged_on_the_threshold():
    settings = load_settings("dev", gate_max_regression=0.01)
    champion = {"version": None, "metrics": {}, "error": "m has no alias A (no champion yet)"}
    ok, reasons, _ = judge(_trained({"accuracy": 0.95}, champion), settings)
    assert ok and reasons[1] == "champion not compared: m has no alias A (no champion yet)"


def test_a_metric_the_model_cannot_give_fails_the_gate():
    settings = load_settings("dev", gate_metric="roc_auc", gate_threshold=0.8)
    ok, reasons, _ = judge(_trained({"accuracy": 0.95}), settings)
    assert not ok and reasons == ["roc_auc unavailable: the model gives no class probabilities"]
