"""Declarative automation: new features retrain, a passed gate re-registers, a failed gate does not."""

from __future__ import annotations

from dagster import AssetCheckKey, AssetKey, evaluate_automation_conditions, materialize

from core_assets.assets import features, trained_model
from core_assets.checks import quality_gate
from core_assets.definitions import build_definitions
from tests.core_assets.runs import resources as build_resources
from tests.core_assets.runs import run_job

GATE = AssetCheckKey(AssetKey("trained_model"), "quality_gate")  # requested in the same run, never left out
REPLAY = AssetCheckKey(AssetKey("registered_model_version"), "replay_gate")  # the same
# one run retrains, gates, registers, replays and releases
CARD = AssetKey("model_card")  # last in the run that registers and releases
ONE_RUN = {
    AssetKey("trained_model"),
    GATE,
    AssetKey("registered_model_version"),
    REPLAY,
    AssetKey("served_alias"),
    CARD,
}


def _tick(defs, instance, previous=None):
    result = evaluate_automation_conditions(defs=defs, instance=instance, cursor=previous and previous.cursor)
    return result, {r.key for r in result.results if r.true_subset.size}


def test_updated_features_retrain_then_register_past_the_gate(defs, instance, settings):
    resources = build_resources(settings)
    tick, requested = _tick(defs, instance)
    assert requested == set()

    assert materialize([features], resources=resources, instance=instance).success
    tick, requested = _tick(defs, instance, tick)
    # one run retrains, gates, registers and releases: no second tick, no second run
    assert requested == ONE_RUN

    tick, requested = _tick(defs, instance, tick)  # that run is under way: nothing more to request
    assert requested == set()

    assert materialize(
        [features, trained_model, quality_gate], resources=resources, instance=instance, selection=[trained_model]
    ).success  # retrained by hand: the gate has passed
    tick, requested = _tick(defs, instance, tick)
    assert requested == {AssetKey("registered_model_version"), REPLAY, AssetKey("served_alias"), CARD}


def test_failed_gate_is_never_registered_by_automation(defs, instance, settings):
    strict = build_resources(settings.model_copy(update={"min_accuracy": 1.01}))
    tick, _ = _tick(defs, instance)
    assert materialize([features], resources=strict, instance=instance).success
    tick, _ = _tick(defs, instance, tick)

    gated = materialize(
        [features, trained_model, quality_gate],
        resources=strict,
        instance=instance,
        selection=[trained_model],
        raise_on_error=False,
    )
    assert not gated.success

    tick, requested = _tick(defs, instance, tick)
    assert AssetKey("registered_model_version") not in requested
    assert AssetKey("served_alias") not in requested


def test_changed_training_parameters_retrain_through_the_code_version(defs, instance, settings):
    assert run_job(defs, instance, "train_job").success
    tick, _ = _tick(defs, instance)
    tick, requested = _tick(defs, instance, tick)
    assert requested == set()  # nothing changed: nothing to do

    committed = build_definitions(settings.model_copy(update={"estimator_params": {"C": 0.5, "max_iter": 500}}))
    tick, requested = _tick(committed, instance, tick)

    assert {AssetKey("trained_model"), GATE} <= requested
    assert AssetKey("features") not in requested


def test_a_commit_right_after_a_release_still_takes_one_run(defs, instance, settings):
    """The tick that sees the new code version also sees the last release's materializations."""
    tick, _ = _tick(defs, instance)
    assert run_job(defs, instance, "train_job").success  # released between two ticks
    committed = build_definitions(settings.model_copy(update={"estimator_params": {"C": 0.5, "max_iter": 500}}))
    tick, requested = _tick(committed, instance, tick)
    assert requested == ONE_RUN
