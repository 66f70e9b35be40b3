"""What the drift layer adds to the Dagster code location: the `feature_drift` asset (per served
version and column: the test's statistic, its threshold, the effect, the decision and reference vs
live), and the sensor that, when a replica's tests confirm a drift, emits `drift_detected` (the
alerts layer posts it) and materializes the asset.

Each replica tests the traffic it answers (`GET /drift` of each): a drift on any of them counts.
"""

import json
import math
import time
from typing import Any

from dagster import (
    AssetExecutionContext,
    ConfigurableResource,
    DefaultSensorStatus,
    Definitions,
    MaterializeResult,
    MetadataValue,
    ResourceParam,
    RunRequest,
    SensorEvaluationContext,
    SkipReason,
    asset,
    define_asset_job,
    sensor,
)

from core_assets.api import TRAIN_JOB, TRIGGER_TAG, train_run_config
from layer_api.manager import LayerManager
from mlops_base.settings import Settings
from optional_layers.drift.replicas import read_replicas
from optional_layers.drift.settings import DriftSettings

TRIGGER = "drift"
BARS = " ▁▂▃▄▅▆▇█"


class DriftSource(ConfigurableResource):
    """Every model-server replica's `GET /drift` (the replicas a release reaches: SERVING_URL,
    SERVING_REPLICA_URLS or SERVING_REPLICAS_DNS), and what the retrain sensor does with a drift."""

    url: str = ""
    replica_urls: str = ""
    replicas_dns: str = ""
    auto_retrain: bool
    retrain_window_s: float
    cooldown_s: float

    def read(self, reload_token: str) -> dict[str, dict[str, Any]]:
        """Per replica URL, its /drift; RuntimeError when none answers."""
        return read_replicas(self.url, self.replica_urls, self.replicas_dns, reload_token)


def sparkline(shares: list[float]) -> str:
    """Shares per bin as a row of bars, scaled to the largest."""
    top = max(shares, default=0.0) or 1.0
    return "".join(BARS[round(share / top * (len(BARS) - 1))] for share in shares)


def version_table(version: dict[str, Any]) -> str:
    lines = [
        f"**v{version['version']}** ({', '.join(version['aliases']) or 'not served'}): {version['status']}, "
        f"{version['rows']:,} rows" + (f" ({version['reason']})" if version["reason"] else ""),
        "",
    ]
    if not version["columns"]:
        return "\n".join(lines)
    lines += [
        "| column | statistic | threshold | effect (PSI) | decision | reference | live |",
        "|---|---|---|---|---|---|---|",
    ]
    for c in version["columns"]:
        statistic = "" if c["statistic"] is None else f"{c['statistic']:.2f}"
        lines.append(
            f"| {c['column']} | {statistic} | {c['threshold']:.2f} | {c['effect']:.3f} | {c['decision']} "
            f"| `{sparkline(c['reference'])}` | `{sparkline(c['live'])}` |"
        )
    return "\n".join(lines)


def drifted(states: dict[str, dict[str, Any]]) -> dict[str, list[str]]:
    """Per version, the columns any replica found drifted."""
    found: dict[str, set[str]] = {}
    for state in states.values():
        for version in state["versions"]:
            if version["status"] == "drift":
                found.setdefault(version["version"], set()).update(version["drifted"])
    return {version: sorted(columns) for version, columns in found.items()}


@asset(group_name="drift")
def feature_drift(
    context: AssetExecutionContext, drift_source: DriftSource, settings: ResourceParam[Settings]
) -> MaterializeResult:
    """Per served version and replica: each input column's and the prediction's drift test against
    the version's reference profile (statistic = log e-value, alarming at its threshold when the
    effect is at least DRIFT_MIN_EFFECT), with the reference and live shares per bin."""
    states = drift_source.read(settings.reload_secret_token)
    sections = []
    for url, state in states.items():
        sections.append(f"### {url}\n")
        sections += [version_table(version) for version in state["versions"]]
    found = drifted(states)
    context.log.info(f"drifted: {found or 'nothing'}")
    return MaterializeResult(
        metadata={
            "drifted": MetadataValue.json(found),
            "tests": MetadataValue.md("\n\n".join(sections)),
            "alpha": next(iter(states.values()))["alpha"],
            "min_effect": next(iter(states.values()))["min_effect"],
        }
    )


feature_drift_job = define_asset_job("feature_drift_job", selection=[feature_drift])


@sensor(job=feature_drift_job, minimum_interval_seconds=30, default_status=DefaultSensorStatus.RUNNING)
def drift_sensor(
    context: SensorEvaluationContext,
    drift_source: DriftSource,
    settings: ResourceParam[Settings],
    layers: ResourceParam[LayerManager],
):
    """A drift a replica confirmed: `drift_detected` (version, columns) once per version and set of
    columns, and `feature_drift` materialized to show it."""
    try:
        found = drifted(drift_source.read(settings.reload_secret_token))
    except RuntimeError as exc:
        return SkipReason(str(exc))
    seen: dict[str, list[str]] = json.loads(context.cursor) if context.cursor else {}
    new = {version: columns for version, columns in found.items() if seen.get(version) != columns}
    if not new:
        return SkipReason(f"no new drift ({len(found)} version(s) drifted before)" if found else "no drift")
    for version, columns in new.items():
        layers.lifecycle_event("drift_detected", {"version": version, "columns": ", ".join(columns)})
    context.update_cursor(json.dumps({**seen, **new}))
    key = ";".join(f"v{version}:{','.join(columns)}" for version, columns in sorted(new.items()))
    return RunRequest(run_key=f"drift-{key}", tags={TRIGGER_TAG: TRIGGER})


@sensor(job_name=TRAIN_JOB, minimum_interval_seconds=30, default_status=DefaultSensorStatus.RUNNING)
def drift_retrain_sensor(
    context: SensorEvaluationContext, drift_source: DriftSource, settings: ResourceParam[Settings]
):
    """AUTO_RETRAIN: a drifted version starts one training run (trigger `drift`) on the env's data
    plus the traffic of DRIFT_RETRAIN_WINDOW whose outcomes were fed back; the gate judges it
    against the champion and, passed, it is released as challenger B. At most one per version per
    DRIFT_COOLDOWN: a refused gate is the gate's alert, not a loop."""
    if not drift_source.auto_retrain:
        return SkipReason("AUTO_RETRAIN is off")
    try:
        found = drifted(drift_source.read(settings.reload_secret_token))
    except RuntimeError as exc:
        return SkipReason(str(exc))
    now = time.time()
    retrained: dict[str, float] = json.loads(context.cursor) if context.cursor else {}
    due = sorted(v for v in found if now - retrained.get(v, -math.inf) >= drift_source.cooldown_s)
    if not due:
        return SkipReason("no drift" if not found else f"drifted {sorted(found)}: retrained within DRIFT_COOLDOWN")
    context.update_cursor(json.dumps({**retrained, **dict.fromkeys(due, now)}))
    columns = sorted({column for version in due for column in found[version]})
    return RunRequest(
        run_key=f"drift-retrain-{'-'.join(due)}-{int(now)}",
        run_config=train_run_config(now - drift_source.retrain_window_s),
        tags={TRIGGER_TAG: TRIGGER, "mlops/drifted": f"v{', v'.join(due)}: {', '.join(columns)}"},
    )


def drift_definitions(settings: Settings) -> Definitions:
    layer = DriftSettings.of(settings)
    return Definitions(
        assets=[feature_drift],
        jobs=[feature_drift_job],
        sensors=[drift_sensor, drift_retrain_sensor],
        resources={
            "drift_source": DriftSource(
                url=settings.serving_url,
                replica_urls=settings.serving_replica_urls,
                replicas_dns=settings.serving_replicas_dns,
                auto_retrain=layer.auto_retrain,
                retrain_window_s=layer.drift_retrain_window.total_seconds(),
                cooldown_s=layer.drift_cooldown.total_seconds(),
            )
        },
    )
