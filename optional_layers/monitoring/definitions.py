"""What the monitoring layer adds to the Dagster code location: the metric-driven rollback sensor."""

from datetime import UTC, datetime

import httpx
from dagster import (
    ConfigurableResource,
    DefaultSensorStatus,
    Definitions,
    RunRequest,
    SensorEvaluationContext,
    SkipReason,
    sensor,
)

from core_assets.api import (
    REGISTRY_ERRORS,
    ROLLBACK_JOB,
    MlflowRegistry,
    alias_moves,
    alias_version,
    rollback_run_config,
)
from mlops_base.aliases import CHALLENGER
from mlops_base.mlflow_client import first_line
from mlops_base.settings import Settings
from optional_layers.monitoring.settings import MonitoringSettings
from optional_layers.monitoring.slo import read_slo, window_seconds


class SloSettings(ConfigurableResource):
    """Where Prometheus is and what the challenger must stay under."""

    prometheus_url: str
    max_error_ratio: float
    max_p99_seconds: float
    window: str


@sensor(job_name=ROLLBACK_JOB, minimum_interval_seconds=30, default_status=DefaultSensorStatus.RUNNING)
def slo_rollback_sensor(context: SensorEvaluationContext, slo: SloSettings, registry: MlflowRegistry):
    """Roll the challenger back when its error ratio or p99 stays over the SLO for the window."""
    if not slo.prometheus_url:
        return SkipReason("PROMETHEUS_URL is not set")
    try:
        reading = read_slo(slo.prometheus_url, CHALLENGER, slo.window)
    except (httpx.HTTPError, KeyError, ValueError) as exc:
        return SkipReason(
            f"Prometheus at {slo.prometheus_url} cannot answer ({type(exc).__name__}: {exc}): "
            "never rolling back without data"
        )
    if not reading.has_data:
        return SkipReason(f"no metrics for {CHALLENGER} over {slo.window}: never rolling back on missing data")
    breaches = reading.breaches(slo.max_error_ratio, slo.max_p99_seconds)
    if not breaches:
        return SkipReason(f"{CHALLENGER} within SLO: {reading}")
    try:
        with registry.rest() as client:
            current = alias_version(client, registry.model_name, CHALLENGER)
    except REGISTRY_ERRORS as exc:
        return SkipReason(
            f"{CHALLENGER} breaches ({'; '.join(breaches)}) but registry {registry.tracking_uri} "
            f"is unreachable ({first_line(exc)}); asking again next tick"
        )
    moves = [m for m in alias_moves(context.instance, alias=CHALLENGER) if m.after_version == current]
    if current is None or not moves:
        return SkipReason(f"{CHALLENGER} breaches ({'; '.join(breaches)}) but has no recorded move to undo")
    served_s = (datetime.now(UTC) - datetime.fromisoformat(moves[0].moved_at)).total_seconds()
    if served_s < window_seconds(slo.window):  # Prometheus's min over the window is over what it has
        return SkipReason(
            f"{CHALLENGER} v{current} breaches ({'; '.join(breaches)}) over its {served_s:.0f} s served, "
            f"less than ROLLBACK_WINDOW={slo.window}: judged once it has been served a whole window"
        )
    reason = f"challenger v{current} breached its SLO for {slo.window}: {'; '.join(breaches)}"
    return RunRequest(
        run_key=f"slo-rollback-{CHALLENGER}-v{current}",
        run_config=rollback_run_config(CHALLENGER, moves[0].before_version, reason),
    )


def monitoring_definitions(settings: Settings) -> Definitions:
    layer = MonitoringSettings.of(settings)
    return Definitions(
        sensors=[slo_rollback_sensor],
        resources={
            "slo": SloSettings(
                prometheus_url=layer.prometheus_url,
                max_error_ratio=layer.rollback_max_error_ratio,
                max_p99_seconds=layer.rollback_max_p99_seconds,
                window=layer.rollback_window,
            )
        },
    )
