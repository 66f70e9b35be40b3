"""`mlops status`: where the aliases point, what each replica serves, the last moves and the layers.

Read from the registry (MLflow's REST API: the aliases and the mirror of the alias history) and
from each replica's `/models`, so it answers for a remote env too; no Dagster needed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx

from core_assets.api import AliasMove, mirrored_moves
from layer_api.state import read_state
from mlops_base import registry_rest as rest
from mlops_base.aliases import Alias
from mlops_base.ramp import RAMP_TAG, RampState, current, last_decision, step_of
from mlops_base.settings import Settings
from mlops_platform import layer_toggle
from mlops_platform.runtime import Running


class Unreachable(Exception):
    """A server the command needs did not answer."""


@dataclass
class Report:
    lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def move_line(move: AliasMove) -> str:
    when = move.moved_at[:19].replace("T", " ")
    before, after = (f"v{v}" if v else "none" for v in (move.before_version, move.after_version))
    return f"  {when}  {move.alias}  {before} -> {after}  {move.lever:<8}  by {move.trigger}: {move.reason}"


def served(url: str) -> dict[str, str | None]:
    """alias -> the version a replica serves (None: not loaded)."""
    try:
        found = httpx.get(f"{url}/models", timeout=5).json()["models"]
    except (httpx.HTTPError, ValueError, KeyError) as exc:
        raise Unreachable(f"model server {url}: {type(exc).__name__}") from exc
    return {alias: model["version"] for alias, model in found.items()}


def registered_model(registry_url: str, model_name: str) -> rest.RegisteredModel | None:
    """The model's aliases and tags, None when nothing is registered; Unreachable when the registry fails."""
    with rest.RegistryClient(registry_url) as client:
        try:
            return client.registered_model(model_name)
        except rest.RegistryError as exc:
            if exc.not_found:
                return None
            raise Unreachable(f"registry {registry_url}: {exc}") from exc
        except rest.RegistryUnreachable as exc:
            raise Unreachable(f"registry {registry_url}: {exc}") from exc


def _when(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S")


def ramp_lines(model: rest.RegisteredModel, steps: tuple[int, ...]) -> list[str]:
    """Where the ramp of the challenger the registry names stands, and the ramp sensor's last word."""
    challenger = model.aliases.get(str(Alias.B))
    state = current(RampState.from_tag(model.tags.get(RAMP_TAG)), challenger)
    if state is None:
        return []
    step = step_of(state, challenger, steps)
    shares = ", ".join(f"{share}%" for share in steps)
    lines = [
        f"ramp: B v{challenger} against A v{state.champion} at {steps[step]}% "
        f"(step {step + 1} of {len(steps)}: {shares}) since {_when(state.since)}"
    ]
    decision = last_decision(model.tags, state)
    if decision is not None:
        lines.append(f"  last decision ({_when(decision['at'])}): {decision['action']}: {decision['reason']}")
    return lines


def status(settings: Settings, running: Running | None, history: int = 5) -> Report:
    """The report; Unreachable when the registry does not answer."""
    report = Report()
    if running:
        report.lines.append(f"env {settings.mlops_env}: platform up (launcher pid {running.pid})")
        report.lines += [f"  {name:<10} {url}" for name, url in running.urls.items()]
        registry_url, replicas = running.urls["mlflow"], running.serving_urls
    else:
        report.lines.append(f"env {settings.mlops_env}: no local platform running (./mlops up); asking its servers")
        registry_url = settings.mlflow_tracking_uri
        replicas = settings.replica_url_list or [settings.serving_url or f"http://127.0.0.1:{settings.serving_port}"]
    model = registered_model(registry_url, settings.model_name)
    aliases = model.aliases if model else {}
    served_by = {}
    for url in replicas:
        try:
            served_by[url] = served(url)
        except Unreachable as exc:
            report.problems.append(str(exc))
    report.lines.append(f"aliases of {settings.model_name} (registry {registry_url}):")
    if model is None:
        report.lines.append("  none: nothing registered yet")
    for alias in Alias:
        version = aliases.get(alias)
        report.lines.append(f"  {alias} -> {'v' + version if version else 'unset'}")
        for url, serves in served_by.items():
            now = serves.get(alias)
            agrees = now == version
            report.lines.append(f"      {url} serves {'v' + now if now else 'nothing'}{'' if agrees else '  DIFFERS'}")
            if not agrees:
                said = version or "unset"
                report.problems.append(f"{url} serves {alias}={now or 'nothing'}, the registry says {said}")
    if model is not None:
        report.lines += ramp_lines(model, settings.ramp_step_list)
    recent = mirrored_moves(model.tags)[:history] if model else []
    report.lines.append(f"last {len(recent)} moves (newest first):" if recent else "no alias moves yet")
    report.lines += [move_line(move) for move in recent]
    report.lines += layer_toggle.describe(settings.mlops_env, read_state(settings.env_dir))
    return report
