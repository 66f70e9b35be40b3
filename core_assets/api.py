"""The core's public API for optional layers: what a layer's Dagster definitions may use.

Layers import this module only (an import-linter contract forbids the rest of `core_assets`), so
the core may reshape its private modules without breaking them. Keep it small and stable:

- `MlflowRegistry`: the registry resource (`registry` in the code location), for sensors and assets.
- `alias_version(registry.rest(), model_name, alias)`: the version an alias points to now, or None;
  `REGISTRY_ERRORS` when the registry answers with an error or not at all.
- `alias_moves(instance, alias=..., run_id=...)`: the recorded alias history, newest first.
- `AliasMove`: one entry of it (before and after version, reason, lever, trigger, run);
  `AliasMove.decode(values)` reads one back, whatever stored it.
- `mirrored_moves(tags)`: the history as the registry's bounded mirror keeps it (a registered
  model's tags), newest first, for readers without the Dagster instance.
- `rollback_run_config(alias, version, reason)`: the run config of `rollback_job` restoring `version`.
- `ROLLBACK_JOB`: the name of that job, for a sensor's `job_name`.
- `promote_run_config(reason)`, `PROMOTE_JOB`: the same for promoting the challenger to champion.
- `TRIGGER_TAG`: the run tag naming what decided a move (shown as the move's trigger).
- `TRAIN_JOB`, `train_run_config(labelled_traffic_since)`: the training run (features to a released
  challenger), with the served traffic answered since then and fed back added to the dataset.
"""

from __future__ import annotations

from core_assets.release.history import TRIGGER_TAG, alias_moves
from core_assets.release.levers import promote_run_config, rollback_run_config
from core_assets.release.registry import REGISTRY_ERRORS, AliasMove, alias_version, mirrored_moves
from core_assets.resources import MlflowRegistry

ROLLBACK_JOB = "rollback_job"
TRAIN_JOB = "train_job"
PROMOTE_JOB = "promote_job"

__all__ = [
    "PROMOTE_JOB",
    "REGISTRY_ERRORS",
    "ROLLBACK_JOB",
    "TRAIN_JOB",
    "TRIGGER_TAG",
    "AliasMove",
    "MlflowRegistry",
    "alias_moves",
    "alias_version",
    "mirrored_moves",
    "promote_run_config",
    "rollback_run_config",
    "train_run_config",
]


def train_run_config(labelled_traffic_since: float) -> dict:
    """`train_job`'s run config adding the labelled traffic answered since then (epoch seconds)."""
    return {"ops": {"features": {"config": {"labelled_traffic_since": labelled_traffic_since}}}}
