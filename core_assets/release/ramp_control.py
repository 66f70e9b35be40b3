"""One tick of the ramp (ALIAS_SELECTION_MODE=ramp), as the ramp sensor runs it: read where the
aliases and the ramp stand in the registry, begin a ramp for a new challenger, ask the layers for
the guardrails' evidence, decide, and write the next step back where every replica reads it.

The step and the last decision live in the registered model's tags (`mlops.ramp`,
`mlops.ramp.decision`): every replica routes the same share, `GET /ramp` shows the decision, and a
replica or a daemon restarted mid-ramp resumes where it was. Promotion and abort are runs of the one
release path (the sensor turns them into `promote_job` and `rollback_job` runs).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from dagster import MetadataValue

from core_assets.lib.events import emit_lifecycle_event
from core_assets.release.ramp import Evidence, RampDecision, decide
from layer_api import RampObservations
from layer_api.manager import LayerManager
from mlops_base.aliases import CHALLENGER, CHAMPION
from mlops_base.ramp import DECISION_TAG, RAMP_TAG, RampState
from mlops_base.registry_rest import RegistryClient
from mlops_base.settings import Settings

MAX_TAG_CHARS = 5_000  # MLflow's limit on a tag's value


@dataclass(frozen=True)
class RampTick:
    state: RampState | None  # after the tick (None: nothing to ramp)
    decision: RampDecision | None  # None: the ramp began this tick, or there is nothing to ramp
    note: str  # what happened, for the sensor's log and the asset's page


def evidence_of(observations: list[RampObservations], settings: Settings) -> list[Evidence]:
    """The layers' observations with their margins: RAMP_MARGIN as it is for shares (errors,
    slow requests, accuracy), as a share of the champion's mean for an unbounded metric (MAE)."""
    margin = settings.ramp_margin
    return [Evidence(o, margin if o.bounded else margin * abs(o.champion.mean)) for o in observations]


def decision_tag(decision: RampDecision, state: RampState, now: float) -> str:
    """The decision as `GET /ramp` shows it: action, step, reason and each guardrail's interval."""
    readings = [
        {
            "guardrail": r.guardrail,
            "verdict": r.verdict,
            "worse_by": list(r.worse_by) if r.worse_by else None,
            "margin": r.margin,
            "champion": {"n": r.champion.n, "mean": r.champion.mean if r.champion.n else None},
            "challenger": {"n": r.challenger.n, "mean": r.challenger.mean if r.challenger.n else None},
        }
        for r in decision.readings
    ]
    value = {
        "action": decision.action,
        "challenger": state.challenger,
        "champion": state.champion,
        "step": decision.step,
        "at": now,
        "readings": readings,
        "reason": decision.reason,
    }
    text = json.dumps(value, separators=(",", ":"))
    if len(text) > MAX_TAG_CHARS:  # the reason is what grows: cut it, keep the numbers
        value["reason"] = decision.reason[: max(0, len(decision.reason) - (len(text) - MAX_TAG_CHARS) - 3)] + "..."
        text = json.dumps(value, separators=(",", ":"))
    return text


def ramp_metadata(decision: RampDecision, state: RampState, steps: tuple[int, ...]) -> dict[str, Any]:
    """The ramp on its asset's page in Dagster: where it stands, the decision and each guardrail."""
    rows = ["| guardrail | A | B | B worse by | margin | verdict |", "|---|---|---|---|---|---|"]
    for r in decision.readings:
        interval = f"[{r.worse_by[0]:+.4g}, {r.worse_by[1]:+.4g}]" if r.worse_by else "-"
        a = f"{r.champion.mean:.4g} (n={r.champion.n})" if r.champion.n else "-"
        b = f"{r.challenger.mean:.4g} (n={r.challenger.n})" if r.challenger.n else "-"
        rows.append(f"| {r.guardrail} | {a} | {b} | {interval} | {r.margin:g} | {r.verdict} |")
    return {
        "action": decision.action,
        "challenger": f"v{state.challenger}",
        "champion": f"v{state.champion}",
        "share_percent": steps[decision.step],
        "step": f"{decision.step + 1} of {len(steps)} ({', '.join(f'{s}%' for s in steps)})",
        "reason": decision.reason,
        "guardrails": MetadataValue.md("\n".join(rows)),
    }


def ramp_tick(client: RegistryClient, settings: Settings, layers: LayerManager, now: float | None = None) -> RampTick:
    now = time.time() if now is None else now
    name, steps = settings.model_name, settings.ramp_step_list
    model = client.registered_model(name)
    champion, challenger = model.aliases.get(str(CHAMPION)), model.aliases.get(str(CHALLENGER))
    if not champion or not challenger or champion == challenger:
        return RampTick(None, None, f"no challenger to ramp (A: v{champion}, B: v{challenger})")
    state = RampState.from_tag(model.tags.get(RAMP_TAG))
    if state is None or (state.challenger, state.champion) != (challenger, champion):
        state = RampState(challenger, champion, 0, now, now)
        client.set_model_tag(name, RAMP_TAG, state.to_tag())
        return RampTick(state, None, f"ramp of v{challenger} against v{champion} begins at {steps[0]}%")
    observations = layers.ramp_evidence(name, champion, challenger, state.since)  # this step's
    decision = decide(
        state,
        evidence_of(observations, settings),
        steps,
        now,
        settings.ramp_min_exposure.total_seconds(),
        settings.ramp_alpha,
    )
    if decision.action == "advance":
        state = RampState(challenger, champion, decision.step, now, state.started)
        client.set_model_tag(name, RAMP_TAG, state.to_tag())
        share = settings.ramp_step_list[decision.step]
        moved = {"model_name": name, "version": challenger, "share_percent": share, "reason": decision.reason}
        emit_lifecycle_event("ramp_advanced", moved, layers)
    client.set_model_tag(name, DECISION_TAG, decision_tag(decision, state, now))
    return RampTick(state, decision, decision.reason)
