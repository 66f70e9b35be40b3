"""The core's public API for optional layers: what a layer's Dagster definitions may use.

Layers import this module only (an import-linter contract forbids the rest of `core_assets`), so
the core may reshape its private modules without breaking them. Keep it small and stable:

- `MlflowRegistry`: the registry resource (`registry` in the code location), for sensors and assets.
- `alias_version(client, model_name, alias)`: the version an alias points to now, or None.
- `alias_moves(instance, alias=..., run_id=...)`: the recorded alias history, newest first.
- `AliasMove`: one entry of it (before and after version, reason, lever, trigger, run).
- `rollback_run_config(alias, version, reason)`: the run config of `rollback_job` restoring `version`.
- `ROLLBACK_JOB`: the name of that job, for a sensor's `job_name`.
"""

from __future__ import annotations

from core_assets.release.history import alias_moves
from core_assets.release.levers import rollback_run_config
from core_assets.release.registry import AliasMove, alias_version
from core_assets.resources import MlflowRegistry

ROLLBACK_JOB = "rollback_job"

__all__ = ["ROLLBACK_JOB", "AliasMove", "MlflowRegistry", "alias_moves", "alias_version", "rollback_run_config"]
