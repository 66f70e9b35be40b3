"""Which optional layers are on, per env: `envs/<env>/layers.yaml`, the single source of truth.

The launcher's toggle (`mlops_platform.layer_toggle`) is its only writer; the plugin manager and
the env's `root-optional` Argo CD app read it. A layer is active when the optional set is attached and the layer is on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml


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
