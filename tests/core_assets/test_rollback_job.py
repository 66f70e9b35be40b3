"""rollback_job moves an alias back, records it like served_alias, and refuses bad versions."""

from __future__ import annotations

from core_assets.release.history import alias_moves
from tests.core_assets.runs import release, run_job, step_failure


def _rollback_config(version: str, reason: str = "bad release") -> dict:
    return {"ops": {"served_alias": {"config": {"alias": "B", "version": version, "reason": reason}}}}


def test_rollback_moves_the_alias_back_and_records_history(defs, instance, client, settings):
    release(defs, instance)
    release(defs, instance)

    result = run_job(defs, instance, "rollback_job", _rollback_config("1", "v2 misbehaves"))

    assert result.success
    assert client.get_registered_model(settings.model_name).aliases == {"B": "1"}
    [materialization] = [e.event_specific_data.materialization for e in result.get_asset_materialization_events()]
    assert materialization.asset_key.path == ["served_alias"]
    meta = {k: v.value for k, v in materialization.metadata.items()}
    assert (meta["before_version"], meta["after_version"], meta["reason"]) == ("2", "1", "v2 misbehaves")
    assert meta["lever"] == "rollback"
    assert [m.after_version for m in alias_moves(instance, alias="B")] == ["1", "2", "1"]
    assert instance.get_latest_materialization_event(materialization.asset_key).run_id == result.run_id


def test_rollback_to_a_missing_version_fails_clearly_and_changes_nothing(defs, instance, client, settings):
    release(defs, instance)
    tags_before = client.get_registered_model(settings.model_name).tags

    result = run_job(defs, instance, "rollback_job", _rollback_config("99"))

    assert not result.success
    message = step_failure(result)
    assert "refused, alias B unchanged" in message and "version 99 does not exist" in message
    model = client.get_registered_model(settings.model_name)
    assert model.aliases == {"B": "1"}
    assert model.tags == tags_before
    assert not result.get_asset_materialization_events()


def test_rollback_without_a_version_is_refused(defs, instance, client, settings):
    release(defs, instance)

    result = run_job(defs, instance, "rollback_job", {"ops": {"served_alias": {"config": {"alias": "B"}}}})

    assert not result.success
    assert "a rollback needs the version to restore (or remove: true)" in step_failure(result)
    assert client.get_registered_model(settings.model_name).aliases == {"B": "1"}
