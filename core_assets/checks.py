"""The quality gate: a blocking check, so a weak model is never registered.

It judges the env's GATE_METRIC against GATE_THRESHOLD and, with GATE_MAX_REGRESSION, against the
champion (the version alias A serves) scored on the same test split.
"""

import json
import time
from typing import Any

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AutomationCondition,
    MetadataValue,
    ResourceParam,
    asset_check,
)

from core_assets.assets import registered_model_version, trained_model
from core_assets.lib.events import emit_lifecycle_event
from core_assets.lib.gate import judge
from core_assets.release.replay import replay_version
from core_assets.resources import MlflowRegistry
from layer_api.manager import LayerManager
from mlops_base.model_card import GATE_DETAIL_TAG, GATE_TAG
from mlops_base.settings import Settings


@asset_check(
    asset=trained_model,
    blocking=True,
    # requested with the model it judges: a check without a condition rides along only sometimes
    # (automation runs selecting the model and what it feeds skipped it: registered ungated)
    automation_condition=AutomationCondition.any_deps_match(AutomationCondition.will_be_requested()),
    description="GATE_METRIC on the test split meets GATE_THRESHOLD, and the champion by GATE_MAX_REGRESSION",
)
def quality_gate(
    context: AssetCheckExecutionContext,
    trained_model: dict[str, Any],
    settings: ResourceParam[Settings],
    layers: ResourceParam[LayerManager],
    registry: MlflowRegistry,
) -> AssetCheckResult:
    passed, reasons, scores = judge(trained_model, settings)
    run_id = trained_model["run_id"]
    client = registry.client()
    client.set_tag(run_id, GATE_TAG, "passed" if passed else "failed")
    client.set_tag(run_id, GATE_DETAIL_TAG, json.dumps({**scores, "reasons": reasons})[:5_000])  # the model card's
    if not passed:
        emit_lifecycle_event(
            "gate_failed",
            {"run_id": run_id, **scores, "why": "; ".join(reasons), "dagster_run_id": context.run.run_id},
            layers,
            context.log,
        )
    return AssetCheckResult(
        passed=passed,
        severity=AssetCheckSeverity.ERROR,
        description="; ".join(reasons),
        metadata={**{k: v for k, v in scores.items() if v is not None}, "run_id": run_id},
    )


@asset_check(
    asset=registered_model_version,
    blocking=True,
    automation_condition=AutomationCondition.any_deps_match(AutomationCondition.will_be_requested()),
    description="The candidate and the champion score the last logged requests (REPLAY_ROWS): it fails on "
    "more than REPLAY_MAX_ERRORS of them, or a worse metric on those with outcomes; skipped without a log",
)
def replay_gate(
    context: AssetCheckExecutionContext,
    registered_model_version: dict[str, Any],
    settings: ResourceParam[Settings],
    layers: ResourceParam[LayerManager],
    registry: MlflowRegistry,
) -> AssetCheckResult:
    version = registered_model_version["version"]
    since = time.time() - settings.replay_window.total_seconds()
    replayed, why_not = replay_version(registry.client(), settings, layers, version, since)
    if replayed is None:
        return AssetCheckResult(passed=True, description=f"skipped: {why_not}", metadata={"skipped": True})
    why = "; ".join(replayed.reasons)
    if not replayed.passed:
        payload = {
            "model_name": registry.model_name,
            "version": version,
            "why": why,
            "dagster_run_id": context.run.run_id,
        }
        emit_lifecycle_event("replay_failed", payload, layers, context.log)
    metadata: dict[str, Any] = {
        "rows": replayed.rows,
        "labelled": replayed.labelled,
        "models": MetadataValue.md(replayed.markdown()),
    }
    if replayed.disagreement is not None:
        metadata["disagreement"] = replayed.disagreement
    if replayed.interval is not None:
        metadata[f"{replayed.metric}_difference"] = replayed.difference
    return AssetCheckResult(
        passed=replayed.passed, severity=AssetCheckSeverity.ERROR, description=why, metadata=metadata
    )
