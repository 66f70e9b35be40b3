"""The one settings class, and the env decision.

Values come from `envs/<env>/platform.env` (the same file feeds the Kubernetes ConfigMap);
environment variables override it, so any part can be pointed at another registry. Each process
calls `load_settings` once, in its one assembly point (the Dagster `Definitions`, the model
server's app factory, the launcher's command), and passes the result on explicitly.
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, Json, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from mlops_base.aliases import Alias

REPO_ROOT = Path(__file__).resolve().parents[1]


# settings that are secrets: never shown in a UI or logged; Dagster reads them with EnvVar
SECRET_SETTINGS = ("reload_secret_token", "slack_webhook_url")


class SettingsError(ValueError):
    """The env does not exist, or one of its settings is invalid."""


def _envs_dir() -> Path:
    """The env tree: `envs/` of the repo, or `MLOPS_ENVS_DIR` (e.g. a separate config checkout)."""
    return Path(os.environ.get("MLOPS_ENVS_DIR", REPO_ROOT / "envs"))


def current_env() -> str:
    """`MLOPS_ENV`, `dev` when unset."""
    return os.environ.get("MLOPS_ENV", "dev")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", env_file_encoding="utf-8")

    mlops_env: str = "dev"
    mlops_envs_dir: Path = REPO_ROOT / "envs"
    mlops_state_dir: Path | None = None

    # registry
    mlflow_tracking_uri: str = "http://127.0.0.1:5000"
    mlflow_experiment: str = "iris"
    model_name: str = "iris-classifier"

    # data and training
    dataset: str = "iris"
    target_column: str = "target"
    test_size: float = Field(0.25, gt=0, lt=1)
    split_seed: int = 42
    estimator: str = "sklearn.ensemble.RandomForestClassifier"
    estimator_params: Json[dict[str, Any]] = Field(default="{}", validate_default=True)
    min_accuracy: float = 0.9

    # release
    target_alias: Alias = Alias.B
    serving_url: str = ""
    reload_secret_token: str = ""
    slack_webhook_url: str = ""

    # serving
    alias_selection_mode: Literal["ab_test", "canary", "blue_green", "shadow"] = "ab_test"
    default_alias: Alias = Alias.A
    ab_test_percent: int = Field(10, ge=0, le=100)
    canary_percent: int = Field(10, ge=0, le=100)
    serving_backend: Literal["sklearn"] = "sklearn"
    max_rows: int = Field(10_000, ge=1)
    max_body_bytes: int = Field(1_048_576, ge=1024)
    # Micro-batching: concurrent small requests to one variant share one predict call.
    batch_max_rows: int = Field(64, ge=0, description="rows per shared predict call; 0 turns batching off")
    batch_max_wait_us: int = Field(
        0, ge=0, le=100_000, description="how long a request may wait for others; 0 = only those already waiting"
    )
    # where model artifacts may be loaded from (comma-separated URI prefixes)
    model_artifact_roots: str = "mlflow-artifacts:/"

    # monitoring layer: release metrics pushed by the runs, metric-driven rollback of the challenger
    pushgateway_url: str = ""
    prometheus_url: str = ""
    rollback_max_error_ratio: float = 0.05
    rollback_max_p99_seconds: float = 0.5
    rollback_window: str = Field("5m", pattern=r"^[0-9]+[smh]$")

    # local launcher
    mlflow_port: int = 5000
    dagster_port: int = 3000
    serving_port: int = 8000

    @field_validator("estimator")
    @classmethod
    def _only_sklearn(cls, value: str) -> str:
        # the env file names a class to import: keep that to scikit-learn
        if not value.startswith("sklearn.") or value.count(".") < 2:
            raise ValueError(f"estimator must be a scikit-learn class path, got {value!r}")
        return value

    @cached_property
    def state_dir(self) -> Path:
        """The env's git-ignored local state (`.mlops/<env>/` unless overridden)."""
        path = self.mlops_state_dir or REPO_ROOT / ".mlops" / self.mlops_env
        return Path(path).resolve()

    @property
    def env_dir(self) -> Path:
        """`envs/<env>/`: the env's settings file and its `layers.yaml`."""
        return Path(self.mlops_envs_dir) / self.mlops_env


def dataset_path(dataset: str) -> Path | None:
    """The CSV a `DATASET` value names (relative to the repo root), or None for built-in iris."""
    if dataset == "iris":
        return None
    path = Path(dataset)
    return path if path.is_absolute() else REPO_ROOT / path


def _describe(error: ValidationError) -> str:
    problems = []
    for item in error.errors():
        name = ".".join(str(part) for part in item["loc"]).upper()
        problems.append(f"{name}={item['input']!r}: {item['msg']}")
    return "; ".join(problems)


def load_settings(env: str | None = None, **overrides: Any) -> Settings:
    """Settings of `env` (default: `MLOPS_ENV`): env file < environment variables < overrides.

    Call it once per process, where the process assembles itself; pass the result on.
    """
    env = env or current_env()
    envs = _envs_dir()
    path = envs / env / "platform.env"
    if not path.is_file():
        known = sorted(p.name for p in envs.iterdir() if (p / "platform.env").is_file())
        raise SettingsError(f"unknown env {env!r}: no {path}; known envs: {', '.join(known)}")
    try:
        return Settings(_env_file=path, mlops_env=env, mlops_envs_dir=envs, **overrides)
    except ValidationError as exc:
        raise SettingsError(f"invalid settings of env {env!r} ({path}): {_describe(exc)}") from None
