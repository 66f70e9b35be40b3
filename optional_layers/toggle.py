"""`mlops layers list|on|off [layer] --env <env>`: the only writer of `envs/<env>/layers.yaml`."""

from __future__ import annotations

from pathlib import Path

from optional_layers.manager import known_layers
from optional_layers.state import LayerState, read_state, state_file, write_state


class UnknownLayer(ValueError):
    pass


def describe(env: str, state: LayerState) -> list[str]:
    lines = [f"env {env}: optional set {'attached' if state.attached else 'detached'} (root-optional)"]
    for name in known_layers():
        on = state.layers.get(name, False)
        effect = "active" if name in state.active() else "inactive"
        lines.append(f"  {name:<12} {'on ' if on else 'off'}  ({effect})")
    return lines


def toggle(env_dir: Path, action: str, layer: str | None = None) -> list[str]:
    """Apply `on`/`off` to one layer, or to the whole optional set of `envs/<env>/`; returns what changed."""
    env = env_dir.name
    known = known_layers()
    if layer is not None and layer not in known:
        raise UnknownLayer(f"unknown layer {layer!r}; known layers: {', '.join(known) or 'none'}")
    state = read_state(env_dir)
    wanted = action == "on"
    if layer is None:
        before, state.attached = state.attached, wanted
        what = f"optional set (root-optional): {'attached' if before else 'detached'} -> {'attached' if wanted else 'detached'}"
        changed = before != wanted
    else:
        before = state.layers.get(layer, False)
        state.layers[layer] = wanted
        if wanted:
            state.attached = True  # turning a layer on attaches the optional set it belongs to
        what = f"{layer}: {'on' if before else 'off'} -> {action}"
        changed = before != wanted
    for name in known:
        state.layers.setdefault(name, False)
    if not changed and state == read_state(env_dir):
        return [f"unchanged: {what.split(':')[0]} already {action} in {env}"]
    write_state(env_dir, state)
    return [f"{what} in {env} ({state_file(env_dir)})",
            "restart the platform (./mlops up) for it to take effect"]
