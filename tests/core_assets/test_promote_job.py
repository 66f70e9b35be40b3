"""promote_job: the champion takes the challenger's version, recorded like any alias move."""

from __future__ import annotations

from core_assets.release.history import alias_moves
from core_assets.release.levers import promote_run_config
from tests.core_assets.runs import release, run_job, step_failure


def test_promote_moves_a_to_bs_version_and_records_it(defs, instance, client, settings):
    release(defs, instance)
    release(defs, instance)

    result = run_job(defs, instance, "promote_job")

    assert result.success
    assert client.get_registered_model(settings.model_name).aliases == {"A": "2", "B": "2"}
    [move] = alias_moves(instance, alias="A")
    assert (move.before_version, move.after_version, move.lever) == (None, "2", "promote")
    assert move.reason == "promote challenger v2 to champion"
    [materialization] = result.get_asset_materialization_events()
    assert materialization.asset_key.path == ["served_alias"]


def test_promote_without_a_challenger_fails_clearly(defs, instance):
    result = run_job(defs, instance, "promote_job")
    assert not result.success
    assert "no challenger: alias B is not set" in step_failure(result)


def test_a_promote_decided_for_other_versions_moves_nothing(defs, instance, client, settings):
    """The evaluation judged B=v1 against no champion; B has moved to v2 since: the run refuses."""
    release(defs, instance)
    release(defs, instance)
    config = promote_run_config("judged better", {"B": "1"})

    result = run_job(defs, instance, "promote_job", config)

    assert not result.success
    assert "the decision judged B=v1, but alias B points to v2 now: nothing moves" in step_failure(result)
    assert client.get_registered_model(settings.model_name).aliases == {"B": "2"}
    assert run_job(defs, instance, "promote_job", promote_run_config("judged better", {"B": "2"})).success
