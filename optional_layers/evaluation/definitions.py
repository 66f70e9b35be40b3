"""What the evaluation layer adds to the Dagster code location: the `online_evaluation` asset, the
sensor that materializes it when outcomes arrive, and (AUTO_PROMOTE) the sensors that promote or
roll back the challenger on its evidence through the core's levers."""

import json
import time
from typing import Any

import httpx
from dagster import (
    AssetExecutionContext,
    ConfigurableResource,
    DefaultSensorStatus,
    Definitions,
    EnvVar,
    MaterializeResult,
    MetadataValue,
    RunRequest,
    SensorEvaluationContext,
    SkipReason,
    asset,
    define_asset_job,
    sensor,
)

from core_assets.api import (
    PROMOTE_JOB,
    REGISTRY_ERRORS,
    ROLLBACK_JOB,
    TRIGGER_TAG,
    MlflowRegistry,
    alias_moves,
    alias_version,
    promote_run_config,
    rollback_run_config,
)
from mlops_base.aliases import CHALLENGER
from mlops_base.credentials import first_token
from mlops_base.settings import Settings
from optional_layers.evaluation.plot import difference_plot
from optional_layers.evaluation.settings import EvaluationSettings

TRIGGER = "evaluation"


class OnlineEvaluation(ConfigurableResource):
    """The model server's `GET /evaluation` (every replica reads the same outcome store), and what
    the layer's sensors act on."""

    serving_url: str
    min_new_outcomes: int
    every_minutes: float
    auto_promote: bool
    feedback_token: str  # FEEDBACK_TOKEN, through EnvVar: /evaluation needs the feedback credential

    def read(self, history: bool = False) -> dict[str, Any]:
        response = httpx.get(
            f"{self.serving_url.rstrip('/')}/evaluation",
            params={"history": history},
            headers={"Authorization": f"Bearer {first_token(self.feedback_token)}"},
            timeout=30,
        )
        response.raise_for_status()
        return response.json()


def _table(judged: dict[str, Any]) -> str:
    metric = judged["metric"]
    lines = [f"| variant | version | outcomes | {metric} |", "|---|---|---|---|"]
    for v in judged["variants"]:
        lines.append(f"| {v['variant']} | v{v['version']} | {v['outcomes']} | {v['metric']} |")
    c = judged["comparison"]
    low, high = c["difference_interval"]
    lines += [
        "",
        f"**Challenger B v{c['challenger']['version']} minus champion A v{c['champion']['version']}:** "
        f"{c['difference']} (always-valid {1 - judged['test']['alpha']:.0%} interval [{low}, {high}]) "
        f"-> **{c['decision']}**",
        "",
        f"Test: {judged['test']['name']}; minimum {judged['test']['min_samples']} outcomes per side.",
    ]
    return "\n".join(lines)


@asset(group_name="evaluation")
def online_evaluation(context: AssetExecutionContext, online_evaluation_source: OnlineEvaluation) -> MaterializeResult:
    """The served challenger against the served champion on fed-back outcomes: per variant and
    version the metric, and the difference with its always-valid interval and the decision."""
    judged = online_evaluation_source.read(history=True)
    c = judged["comparison"]
    context.log.info(c["why"])
    return MaterializeResult(
        metadata={
            "decision": c["decision"],
            "difference": c["difference"],
            "difference_interval": MetadataValue.json(c["difference_interval"]),
            "champion": MetadataValue.json(c["champion"]),
            "challenger": MetadataValue.json(c["challenger"]),
            "outcomes": judged["outcomes"],
            "table": MetadataValue.md(_table(judged)),
            "difference_over_time": MetadataValue.md(difference_plot(judged)),
            "test": judged["test"]["name"],
        }
    )


online_evaluation_job = define_asset_job("online_evaluation_job", selection=[online_evaluation])


@sensor(job=online_evaluation_job, minimum_interval_seconds=30, default_status=DefaultSensorStatus.RUNNING)
def online_evaluation_sensor(context: SensorEvaluationContext, online_evaluation_source: OnlineEvaluation):
    """Materialize `online_evaluation` when EVALUATION_MIN_NEW_OUTCOMES new outcomes arrived, or
    EVALUATION_EVERY_MINUTES after the last time."""
    try:
        outcomes = online_evaluation_source.read()["outcomes"]
    except (httpx.HTTPError, KeyError, ValueError) as exc:
        return SkipReason(f"the model server's /evaluation cannot answer ({type(exc).__name__}: {exc})")
    cursor = json.loads(context.cursor) if context.cursor else {"outcomes": 0, "at": 0.0}
    new, waited = outcomes - cursor["outcomes"], time.time() - cursor["at"]
    if new < online_evaluation_source.min_new_outcomes and waited < online_evaluation_source.every_minutes * 60:
        return SkipReason(f"{new} new outcomes (materializing at {online_evaluation_source.min_new_outcomes})")
    context.update_cursor(json.dumps({"outcomes": outcomes, "at": time.time()}))
    return RunRequest(tags={TRIGGER_TAG: TRIGGER})


def evidence(judged: dict[str, Any]) -> str:
    """The decision's evidence, as the move's reason (in its metadata and its alert)."""
    c, test = judged["comparison"], judged["test"]
    return (
        f"online evaluation: challenger v{c['challenger']['version']} is {c['decision']} than champion "
        f"v{c['champion']['version']}: {c['why']}; test: mSPRT always-valid, alpha={test['alpha']}, "
        f"min {test['min_samples']} outcomes per side"
    )


def decided(source: OnlineEvaluation, wanted: str) -> tuple[dict[str, Any] | None, str]:
    """The evaluation when it decided `wanted` with AUTO_PROMOTE on, else why not."""
    if not source.auto_promote:
        return None, "AUTO_PROMOTE is off"
    try:
        judged = source.read()
    except (httpx.HTTPError, ValueError) as exc:
        return None, f"/evaluation cannot answer ({type(exc).__name__}: {exc}): never deciding without data"
    decision = judged["comparison"]["decision"]
    if decision != wanted:
        return None, f"decision: {decision} ({judged['comparison']['why']})"
    return judged, ""


def judged_versions(judged: dict[str, Any]) -> dict[str, str]:
    """The versions the decision judged: the run refuses to move anything if an alias moved since."""
    c = judged["comparison"]
    return {"A": str(c["champion"]["version"]), "B": str(c["challenger"]["version"])}


def _key(judged: dict[str, Any]) -> str:
    """The same evidence (the same champion and challenger versions) is acted on once."""
    c = judged["comparison"]
    return f"evaluation-{c['decision']}-A{c['champion']['version']}-B{c['challenger']['version']}"


@sensor(job_name=PROMOTE_JOB, minimum_interval_seconds=10, default_status=DefaultSensorStatus.RUNNING)
def evaluation_promote_sensor(context: SensorEvaluationContext, online_evaluation_source: OnlineEvaluation):
    """AUTO_PROMOTE: the challenger judged better becomes the champion."""
    judged, why_not = decided(online_evaluation_source, "better")
    if judged is None:
        return SkipReason(why_not)
    return RunRequest(
        run_key=_key(judged),
        run_config=promote_run_config(evidence(judged), judged_versions(judged)),
        tags={TRIGGER_TAG: TRIGGER},
    )


@sensor(job_name=ROLLBACK_JOB, minimum_interval_seconds=10, default_status=DefaultSensorStatus.RUNNING)
def evaluation_rollback_sensor(
    context: SensorEvaluationContext, online_evaluation_source: OnlineEvaluation, registry: MlflowRegistry
):
    """AUTO_PROMOTE: the challenger judged worse goes back to the version it had before."""
    judged, why_not = decided(online_evaluation_source, "worse")
    if judged is None:
        return SkipReason(why_not)
    judged_version = judged["comparison"]["challenger"]["version"]
    try:
        with registry.rest() as client:
            current = alias_version(client, registry.model_name, CHALLENGER)
    except REGISTRY_ERRORS as exc:
        return SkipReason(f"challenger judged worse but the registry cannot answer ({exc}); asking again")
    if current != judged_version:
        return SkipReason(f"challenger judged worse was v{judged_version}, the alias is now at v{current}")
    moves = [m for m in alias_moves(context.instance, alias=CHALLENGER) if m.after_version == current]
    if not moves:
        return SkipReason(f"challenger v{current} judged worse but has no recorded move to undo")
    return RunRequest(
        run_key=_key(judged),
        run_config=rollback_run_config(CHALLENGER, moves[0].before_version, evidence(judged), judged_versions(judged)),
        tags={TRIGGER_TAG: TRIGGER},
    )


def evaluation_definitions(settings: Settings) -> Definitions:
    layer = EvaluationSettings.of(settings)
    urls = settings.replica_url_list
    return Definitions(
        assets=[online_evaluation],
        jobs=[online_evaluation_job],
        sensors=[online_evaluation_sensor, evaluation_promote_sensor, evaluation_rollback_sensor],
        resources={
            "online_evaluation_source": OnlineEvaluation(
                serving_url=settings.serving_url or (urls[0] if urls else ""),
                min_new_outcomes=layer.evaluation_min_new_outcomes,
                every_minutes=layer.evaluation_every_minutes,
                auto_promote=layer.auto_promote,
                feedback_token=EnvVar("FEEDBACK_TOKEN"),
            )
        },
    )
