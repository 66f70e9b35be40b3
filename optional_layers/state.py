"""Which optional layers are on, per env: `envs/<env>/layers.yaml`, the single source of truth.

The toggle script is its only writer; the plugin manager and the env's `root-optional` Argo CD
app read it. A layer is active when the optional set is attached and the layer is on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

HEADER = """\
# Optional layers of this env. Written only by `./mlops layers`; read by the plugin manager
# and by this env's root-optional Argo CD app. attached: the optional set as a whole.
"""


@dataclass
class LayerState:
    attached: bool = False
    layers: dict[str, bool] = field(default_factory=dict)

    def active(self) -> set[str]:
        return {name for name, on in self.layers.items() if on} if self.attached else set()


def state_file(env_dir: Path) -> Path:
    return env_dir / "layers.yaml"


def read_state(env_dir: Path) -> LayerState:
    path = state_file(env_dir)
    if not path.is_file():
        return LayerState()
    raw = yaml.safe_load(path.read_text()) or {}
    return LayerState(bool(raw.get("attached", False)), {str(k): bool(v) for k, v in (raw.get("layers") or {}).items()})


def dumps(state: LayerState) -> str:
    """`layers.yaml`'s text for `state` (also the data of the env's `mlops-layers` ConfigMap)."""
    return HEADER + yaml.safe_dump(
        {"attached": state.attached, "layers": dict(sorted(state.layers.items()))}, sort_keys=False
    )


def write_state(env_dir: Path, state: LayerState) -> None:
    path = state_file(env_dir)
    tmp = path.with_suffix(".yaml.tmp")
    tmp.write_text(dumps(state))
    tmp.replace(path)
