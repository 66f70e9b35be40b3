"""`mlops layers list|on|off|render [layer] --env <env>`: the only writer of `envs/<env>/layers.yaml`
and of what the env's `root-optional` Argo CD app deploys (generated from it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from layer_api.manager import known_layers
from layer_api.state import LayerState, read_state, state_file
from mlops_base.settings import Settings, load_settings
from mlops_platform import gitops

Action = Literal["on", "off", "render"]


class UnknownLayer(ValueError):
    pass


@dataclass
class Change:
    env: str
    before: LayerState
    after: LayerState
    files: dict[Path, str] = field(default_factory=dict)  # only those whose text changes
    lines: list[str] = field(default_factory=list)

    @property
    def attachment_changed(self) -> bool:
        return self.before.attached != self.after.attached

    @property
    def cluster_changed(self) -> bool:
        """What root-optional deploys changes (or the set is attached/detached)."""
        return self.attachment_changed or self.before.active() != self.after.active()


def describe(env: str, state: LayerState) -> list[str]:
    lines = [f"env {env}: optional set {'attached' if state.attached else 'detached'} (root-optional)"]
    for name in known_layers():
        on = state.layers.get(name, False)
        effect = "active" if name in state.active() else "inactive"
        lines.append(f"  {name:<12} {'on ' if on else 'off'}  ({effect})")
    return lines


def _changed(state: LayerState, action: Action, layer: str | None) -> tuple[LayerState, str]:
    after = LayerState(state.attached, dict(state.layers))
    if action == "render":
        what = "generated GitOps files"
    elif layer is None:
        after.attached = action == "on"
        what = (
            f"optional set (root-optional): {'attached' if state.attached else 'detached'} -> "
            f"{'attached' if after.attached else 'detached'}"
        )
    else:
        after.layers[layer] = action == "on"
        if action == "on":
            after.attached = True  # turning a layer on attaches the optional set it belongs to
        what = f"{layer}: {'on' if state.layers.get(layer, False) else 'off'} -> {action}"
    for name in known_layers():
        after.layers.setdefault(name, False)
    return after, what


def env_settings(env_dir: Path) -> Settings:
    return load_settings(env_dir.name, mlops_env_dir=env_dir)


def plan(env_dir: Path, action: Action, layer: str | None = None) -> Change:
    """What `action` changes in `envs/<env>/` and the GitOps files generated from it; writes nothing."""
    known = known_layers()
    if layer is not None and layer not in known:
        raise UnknownLayer(f"unknown layer {layer!r}; known layers: {', '.join(known) or 'none'}")
    before = read_state(env_dir)
    after, what = _changed(before, action, layer)
    generated = gitops.generated_files(env_dir, after, gitops.all_layers(env_settings(env_dir)))
    wanted = {state_file(env_dir): gitops.layers_yaml(after), **generated}
    files = {path: text for path, text in wanted.items() if not (path.is_file() and path.read_text() == text)}
    change = Change(env_dir.name, before, after, files)
    if not files:
        change.lines = [
            f"unchanged: {what.split(':')[0]} already {action} in {change.env}"
            if action != "render"
            else f"unchanged: the generated GitOps files of {change.env} are current"
        ]
    else:
        root = gitops.repo_root(env_dir)
        change.lines = [f"{what} in {change.env}", *(f"  wrote {path.resolve().relative_to(root)}" for path in files)]
        if action != "render":
            change.lines.append("restart the local platform (./mlops up) for it to take effect there")
    return change


def apply(change: Change) -> None:
    gitops.write(change.files)
