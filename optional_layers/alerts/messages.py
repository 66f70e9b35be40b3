"""What the alerts layer posts: one Slack message per lifecycle event of a kind SLACK_NOTIFY names,
linking the Dagster run and the MLflow version it is about (Slack's `<url|label>` links)."""

from __future__ import annotations

from typing import Any, Literal, get_args

NotifyKind = Literal["registration", "release", "rollback", "run_failure", "drift", "ramp", "probe"]
NOTIFY_KINDS: tuple[str, ...] = get_args(NotifyKind)

# each lifecycle event: its kind (the switch that silences it) and its headline
EVENTS: dict[str, tuple[NotifyKind, str]] = {
    "version_registered": ("registration", ":white_check_mark: registered (quality gate passed)"),
    "gate_failed": ("registration", ":no_entry: quality gate failed, nothing registered"),
    "readiness_failed": ("registration", ":warning: registration failed, not deployed"),
    "served": ("release", ":rocket: released"),
    "deploy_failed": ("release", ":x: deploy failed"),
    "deploy_refused": ("release", ":no_entry_sign: deploy refused, alias unchanged"),
    "replay_failed": ("release", ":no_entry: replay of logged requests failed, not released"),
    "probe_failed": ("probe", ":rotating_light: synthetic probe failed"),
    "rolled_back": ("rollback", ":leftwards_arrow_with_hook: rolled back"),
    "drift_detected": ("drift", ":chart_with_downwards_trend: inputs drifted from the version's reference"),
    "ramp_advanced": ("ramp", ":arrow_up_small: ramp: the challenger's share stepped up"),
    "run_failed": ("run_failure", ":rotating_light: a run failed"),  # the layer's own sensor's, not the core's
}
# said first, in this order; the rest follow by name
LEADING = (
    "job", "step", "error", "model_name", "alias", "version", "before_version", "after_version", "reason",
    "trigger", "detail",
)  # fmt: skip
LINKS = ("dagster_run_id",)  # shown as links, not as text


def notified_kinds(setting: str) -> frozenset[str]:
    """SLACK_NOTIFY's kinds (comma-separated); ValueError naming an unknown one."""
    kinds = frozenset(k.strip() for k in setting.split(",") if k.strip())
    unknown = kinds - set(NOTIFY_KINDS)
    if unknown:
        raise ValueError(f"SLACK_NOTIFY: unknown {', '.join(sorted(unknown))}; known: {', '.join(NOTIFY_KINDS)}")
    return kinds


class Links:
    """Where a message's links point: the Dagster UI's run page and the MLflow UI's version page."""

    def __init__(self, dagster_ui: str, mlflow_ui: str, model_name: str):
        self.dagster_ui, self.mlflow_ui, self.model_name = dagster_ui.rstrip("/"), mlflow_ui.rstrip("/"), model_name

    def run(self, run_id: str) -> str:
        return f"<{self.dagster_ui}/runs/{run_id}|Dagster run {run_id[:8]}>"

    def version(self, model_name: str, version: str) -> str:
        return f"<{self.mlflow_ui}/#/models/{model_name}/versions/{version}|MLflow {model_name} v{version}>"

    def of(self, payload: dict[str, Any]) -> list[str]:
        found = []
        if payload.get("dagster_run_id"):
            found.append(self.run(str(payload["dagster_run_id"])))
        version = payload.get("version") or payload.get("after_version")
        if version and self.mlflow_ui.startswith("http"):
            found.append(self.version(str(payload.get("model_name") or self.model_name), str(version)))
        return found


def message(event: str, payload: dict[str, Any], links: Links) -> str:
    """The event's headline, its details (the leading ones first) and its links, one line."""
    shown = {k: v for k, v in payload.items() if v not in (None, "") and k not in LINKS}
    order = [k for k in LEADING if k in shown] + sorted(k for k in shown if k not in LEADING)
    details = ", ".join(f"{key}={shown[key]}" for key in order)
    return " | ".join(filter(None, (f"{EVENTS[event][1]}: {details}", " · ".join(links.of(payload)))))
