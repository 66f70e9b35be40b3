"""The alias history and the registered versions, read from their primary store: Dagster's event log.

Every alias move is a `served_alias` materialization whose metadata is the `AliasMove`, and every
registration a `registered_model_version` materialization; sensors read them back from here.
"""

from __future__ import annotations

from collections.abc import Mapping

from dagster import AssetKey, DagsterEventType, DagsterInstance

from core_assets.release.registry import AliasMove
from mlops_base.aliases import Alias

SERVED_ALIAS = AssetKey("served_alias")
REGISTERED_VERSION = AssetKey("registered_model_version")
# Dagster's run tags that say what launched a run (from_ui: the webserver's Launchpad and buttons)
AUTOMATION_CONDITION_TAG = "dagster/from_automation_condition"
SENSOR_NAME_TAG = "dagster/sensor_name"
SCHEDULE_NAME_TAG = "dagster/schedule_name"
BACKFILL_ID_TAG = "dagster/backfill"
FROM_UI_TAG = "dagster/from_ui"
# set by a layer's sensor that decides a move on its own evidence (e.g. "evaluation")
TRIGGER_TAG = "mlops/trigger"


def trigger_of(tags: Mapping[str, str]) -> str:
    """What launched a run, as Dagster's run tags tell (or the deciding layer's own tag)."""
    if tags.get(TRIGGER_TAG):
        return tags[TRIGGER_TAG]
    if tags.get(AUTOMATION_CONDITION_TAG):
        return f"automation ({tags.get(SENSOR_NAME_TAG, 'automation condition')})"
    if SENSOR_NAME_TAG in tags:
        return f"sensor {tags[SENSOR_NAME_TAG]}"
    if SCHEDULE_NAME_TAG in tags:
        return f"schedule {tags[SCHEDULE_NAME_TAG]}"
    if BACKFILL_ID_TAG in tags:
        return f"backfill {tags[BACKFILL_ID_TAG]}"
    if tags.get(FROM_UI_TAG) == "true":
        return "ui"
    return "cli or api"


def alias_moves(
    instance: DagsterInstance, *, alias: Alias | None = None, run_id: str | None = None, limit: int = 100
) -> list[AliasMove]:
    """Recorded moves, newest first: of one alias, or made by one run."""
    if run_id is None:
        records = instance.fetch_materializations(SERVED_ALIAS, limit=limit).records
        materializations = [r.asset_materialization for r in records]
    else:
        records = instance.get_records_for_run(
            run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION, limit=limit, ascending=False
        ).records
        materializations = [r.event_log_entry.asset_materialization for r in records]
    moves = [
        AliasMove.decode({name: entry.value for name, entry in m.metadata.items()})
        for m in materializations
        if m is not None and m.asset_key == SERVED_ALIAS
    ]
    return [m for m in moves if m is not None and alias in (None, m.alias)]


def served_by_its_own_run(instance: DagsterInstance, run_id: str) -> bool:
    """Whether the run that registered a version also releases it (its plan has the `served_alias` step)."""
    run = instance.get_run_by_id(run_id)
    if run is None or run.execution_plan_snapshot_id is None:
        return False
    plan = instance.get_execution_plan_snapshot(run.execution_plan_snapshot_id)
    steps = plan.step_keys_to_execute or [step.key for step in plan.steps]
    return SERVED_ALIAS.to_python_identifier() in steps
