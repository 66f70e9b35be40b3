"""The core's settings class, the base of the layers' own, and the env decision.

Values come from `envs/<env>/platform.env` (the same file feeds the Kubernetes ConfigMap);
environment variables override it, so any part can be pointed at another registry. Each process
calls `load_settings` once, in its one assembly point (the Dagster `Definitions`, the model
server's app factory, the launcher's command), and passes the result on explicitly. A layer reads
its own settings class from the same file and environment (`mlops_base.layer_settings`).

Secrets are marked on their fields (`Annotated[str, Secret(...)]`): every list of them, and which
process needs which, is derived from those marks; `repr` masks them.
"""

from __future__ import annotations

import os
from typing import Any

from pydantic import ValidationError

from mlops_base.batch_settings import BatchSettings
from mlops_base.env_settings import SECRETS_DIR_VARIABLE, Component, describe_error, secret_fields, secrets_dir
from mlops_base.serving_settings import Backend, ServingSettings
from mlops_base.settings_concerns import (
    IMPORT_PATH,
    LOWER_IS_BETTER,
    REPO_ROOT,
    TASK_METRICS,
    EnvChoice,
    GateMetric,
    LauncherSettings,
    RegistrySettings,
    ReleaseSettings,
    SettingsError,
    StorageSettings,
    Task,
    TracingSettings,
    TrainingSettings,
    current_env,
    resolve_env_dir,
)

__all__ = [
    "IMPORT_PATH",
    "LOWER_IS_BETTER",
    "REPO_ROOT",
    "TASK_METRICS",
    "Backend",
    "Component",
    "GateMetric",
    "Settings",
    "SettingsError",
    "Task",
    "current_env",
    "load_settings",
]


class Settings(
    LauncherSettings,
    StorageSettings,
    BatchSettings,
    ServingSettings,
    TracingSettings,
    ReleaseSettings,
    TrainingSettings,
    RegistrySettings,
    EnvChoice,
):
    """Everything the core reads, composed of one class per concern (`mlops_base.settings_concerns`):
    each says which processes read it, and the settings reference is generated from that."""

    def missing_secrets(self, component: Component) -> list[str]:
        """The secrets `component` needs in this env that are not set, as environment variable names."""
        return [
            name.upper()
            for name, mark in secret_fields(type(self)).items()
            if component in mark.needed_by and (mark.when is None or mark.when(self)) and not getattr(self, name)
        ]

    def require_secrets(self, component: Component) -> None:
        """Refuse to start `component` with a missing secret, naming each one and where it may come from."""
        missing = self.missing_secrets(component)
        if missing:
            mounted = os.environ.get(SECRETS_DIR_VARIABLE, "unset")
            raise SettingsError(
                f"env {self.mlops_env!r} refuses to start {component}: missing secret(s) {', '.join(missing)} "
                f"(set the environment variable, or a file of that name in {SECRETS_DIR_VARIABLE} ({mounted}))"
            )


def load_settings(env: str | None = None, **overrides: Any) -> Settings:
    """Settings of `env` (default: `MLOPS_ENV`): mounted secret files < env file < environment
    variables < overrides. Secret files live in `MLOPS_SECRETS_DIR`, one per setting
    (`DAGSTER_PG_URL`, ...), as a Kubernetes Secret volume mounts them.

    Call it once per process, where the process assembles itself; pass the result on.
    """
    env = env or current_env()
    path = resolve_env_dir(env, overrides.get("mlops_envs_dir"), overrides.get("mlops_env_dir")) / "platform.env"
    if not path.is_file():
        if os.environ.get("MLOPS_ENV_DIR") or overrides.get("mlops_env_dir"):
            raise SettingsError(f"env {env!r}: MLOPS_ENV_DIR has no {path}")
        known = sorted(p.name for p in path.parents[1].iterdir() if (p / "platform.env").is_file())
        raise SettingsError(f"unknown env {env!r}: no {path}; known envs: {', '.join(known)}")
    try:
        return Settings(_env_file=path, _secrets_dir=secrets_dir(), **{"mlops_env": env, **overrides})
    except ValidationError as exc:
        raise SettingsError(f"invalid settings of env {env!r} ({path}): {describe_error(exc, Settings)}") from None
