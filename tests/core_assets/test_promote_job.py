"""promote_job: the champion takes the challenger's version, recorded like any alias move."""

from __future__ import annotations

from core_assets.release.history import alias_moves
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
