"""The quality gate: a blocking check, so a weak model is never registered."""

from typing import Any

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    ResourceParam,
    asset_check,
)

from core_assets.assets import trained_model
from core_assets.lib.events import emit_lifecycle_event
from core_assets.resources import MlflowRegistry
from mlops_base.settings import Settings
from optional_layers.manager import LayerManager


@asset_check(asset=trained_model, blocking=True, description="accuracy on the test split >= MIN_ACCURACY")
def accuracy_gate(
    context: AssetCheckExecutionContext,
    trained_model: dict[str, Any],
    settings: ResourceParam[Settings],
    layers: ResourceParam[LayerManager],
    registry: MlflowRegistry,
) -> AssetCheckResult:
    accuracy, threshold = trained_model["accuracy"], settings.min_accuracy
    passed = accuracy >= threshold
    registry.client().set_tag(trained_model["run_id"], "mlops.quality_gate", "passed" if passed else "failed")
    if not passed:
        emit_lifecycle_event(
            "gate_failed",
            {"run_id": trained_model["run_id"], "accuracy": accuracy, "threshold": threshold},
            settings,
            layers,
            context.log,
        )
    return AssetCheckResult(
        passed=passed,
        severity=AssetCheckSeverity.ERROR,
        description=f"accuracy {accuracy:.4f} {'>=' if passed else '<'} threshold {threshold}",
        metadata={"accuracy": accuracy, "threshold": threshold, "run_id": trained_model["run_id"]},
    )
