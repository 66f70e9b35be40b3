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

from pydantic import Field, Json, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from mlops_base.aliases import Alias

REPO_ROOT = Path(__file__).resolve().parents[1]


# settings that are secrets: never shown in a UI or logged, never in a committed file but dev's.
# Dagster runs read those they need with EnvVar; the storage ones only reach the instance and MLflow.
RUN_SECRETS = ("reload_secret_token", "slack_webhook_url")
STORAGE_SECRETS = ("dagster_pg_url", "mlflow_backend_store_uri", "aws_access_key_id", "aws_secret_access_key")
# only the model server: Triton's key, and the reload token callers used before a rotation
SERVING_SECRETS = ("triton_admin_key", "reload_secret_token_previous")
SECRET_SETTINGS = RUN_SECRETS + STORAGE_SECRETS + SERVING_SECRETS

# the processes of ours that check their secrets at start-up (the MLflow server is mlflow's own)
Component = Literal["dagster", "serving"]
# where a variant's model runs: in the model server's process, or in a Triton Inference Server
Backend = Literal["sklearn", "triton"]
_DAGSTER_STORAGE_SECRETS = ("dagster_pg_url", "aws_access_key_id", "aws_secret_access_key")


class SettingsError(ValueError):
    """The env does not exist, or one of its settings is invalid."""


# a directory of mounted secret files, one per setting (e.g. a Kubernetes Secret volume)
SECRETS_DIR_VARIABLE = "MLOPS_SECRETS_DIR"


def _envs_dir() -> Path:
    """The env tree: `envs/` of the repo, or `MLOPS_ENVS_DIR` (e.g. a separate config checkout)."""
    return Path(os.environ.get("MLOPS_ENVS_DIR", REPO_ROOT / "envs"))


def _env_dir(env: str) -> Path:
    """The env's own folder (`platform.env`, `layers.yaml`): `MLOPS_ENV_DIR` when set (a Kubernetes
    pod mounts the env's ConfigMaps there), else `<env tree>/<env>`."""
    explicit = os.environ.get("MLOPS_ENV_DIR")
    return Path(explicit) if explicit else _envs_dir() / env


def current_env() -> str:
    """`MLOPS_ENV`, `dev` when unset."""
    return os.environ.get("MLOPS_ENV", "dev")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", env_file_encoding="utf-8")

    mlops_env: str = "dev"
    mlops_envs_dir: Path = REPO_ROOT / "envs"
    mlops_env_dir: Path | None = None  # MLOPS_ENV_DIR: the env's own folder, when not under the env tree
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
    # serving's reload guard: the token callers sent before a rotation (accepted while set), and
    # how many wrong tokens a client may send per window before it is answered 429
    reload_secret_token_previous: str = ""
    reload_max_failures: int = Field(5, ge=1)
    reload_lockout_s: int = Field(60, ge=1)

    # serving
    alias_selection_mode: Literal["ab_test", "canary", "blue_green", "shadow"] = "ab_test"
    default_alias: Alias = Alias.A
    ab_test_percent: int = Field(10, ge=0, le=100)
    canary_percent: int = Field(10, ge=0, le=100)
    serving_backend: Backend = "sklearn"
    # per-alias exceptions, e.g. {"B": "triton"}: a challenger on Triton next to an in-process champion
    serving_backend_by_alias: Json[dict[Alias, Backend]] = Field(default="{}", validate_default=True)
    # Triton backend: the server's HTTP URL (`./mlops up` starts one and sets it), the model
    # repository it reads (the model server exports into it), the key of its repository API
    triton_url: str = Field("", pattern=r"^$|^https?://[^/\s]+$")
    triton_model_repository: Path | None = None
    triton_admin_key: str = ""
    triton_timeout_s: float = Field(10.0, gt=0, le=300)
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

    # logging layer: Loki's base URL (empty: JSON lines in the model server's rotating file only)
    loki_url: str = ""

    # feast layer: the online store (empty: SQLite under the state dir; or redis://host:port),
    # the dataset column that identifies an entity (absent: row numbers), the feature view's TTL
    feast_online_store: str = Field("", pattern=r"^$|^redis://[^/\s]+(/[0-9]+)?$")
    feast_entity_key: str = Field("entity_id", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    feast_ttl_days: int = Field(365, ge=1)

    # storage: "local" = SQLite and files under the state dir; "postgres-s3" = Dagster's instance and
    # MLflow's registry on Postgres, asset values, compute logs and model artifacts in S3
    storage: Literal["local", "postgres-s3"] = "local"
    s3_bucket: str = Field("", pattern=r"^$|^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
    s3_prefix: str = "dagster"
    s3_endpoint_url: str = Field("", description="empty: AWS S3; else an S3-compatible endpoint")
    mlflow_artifacts_prefix: str = "mlflow"
    mlflow_allowed_hosts: str = Field("", description="MLflow server's --allowed-hosts; empty: its default")
    # jobs whose steps each run in their own Kubernetes pod (k8s_job_executor); comma-separated
    k8s_executor_jobs: str = ""
    # storage secrets (environment or mounted files, see `load_settings`)
    dagster_pg_url: str = ""
    mlflow_backend_store_uri: str = ""
    aws_access_key_id: str = ""
    aws_secret_access_key: str = ""

    # local launcher
    postgres_port: int = 5432
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

    @model_validator(mode="after")
    def _s3_needs_a_bucket(self) -> Settings:
        if self.storage == "postgres-s3" and not self.s3_bucket:
            raise ValueError("STORAGE=postgres-s3 needs S3_BUCKET")
        return self

    def backend_of(self, alias: Alias) -> Backend:
        return self.serving_backend_by_alias.get(alias, self.serving_backend)

    @property
    def uses_triton(self) -> bool:
        return "triton" in {self.backend_of(alias) for alias in Alias}

    @property
    def triton_repository(self) -> Path:
        """Where the model server exports Triton models and Triton reads them."""
        return Path(self.triton_model_repository or self.state_dir / "triton" / "models")

    @property
    def mlflow_artifacts_destination(self) -> str:
        """Where the MLflow server keeps the artifacts it proxies: S3 with `STORAGE=postgres-s3`,
        else empty (its own dir under the state dir). Clients never see it."""
        if self.storage == "postgres-s3":
            return f"s3://{self.s3_bucket}/{self.mlflow_artifacts_prefix}"
        return ""

    def missing_secrets(self, component: Component) -> list[str]:
        """The secrets `component` needs in this env that are not set, as environment variable names."""
        if component == "serving":
            needs: tuple[str, ...] = ("reload_secret_token",) + (("triton_admin_key",) if self.uses_triton else ())
        else:
            needs = _DAGSTER_STORAGE_SECRETS if self.storage == "postgres-s3" else ()
        return [name.upper() for name in needs if not getattr(self, name)]

    def require_secrets(self, component: Component) -> None:
        """Refuse to start `component` with a missing secret, naming each one and where it may come from."""
        missing = self.missing_secrets(component)
        if missing:
            where = (
                f"or a file of that name in {SECRETS_DIR_VARIABLE} ({os.environ.get(SECRETS_DIR_VARIABLE, 'unset')})"
            )
            raise SettingsError(
                f"env {self.mlops_env!r} refuses to start {component}: missing secret(s) {', '.join(missing)} "
                f"(set the environment variable, {where})"
            )

    @cached_property
    def state_dir(self) -> Path:
        """The env's git-ignored local state (`.mlops/<env>/` unless overridden)."""
        path = self.mlops_state_dir or REPO_ROOT / ".mlops" / self.mlops_env
        return Path(path).resolve()

    @property
    def env_dir(self) -> Path:
        """`envs/<env>/` (or `MLOPS_ENV_DIR`): the env's settings file and its `layers.yaml`."""
        return Path(self.mlops_env_dir or Path(self.mlops_envs_dir) / self.mlops_env)


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
    """Settings of `env` (default: `MLOPS_ENV`): mounted secret files < env file < environment
    variables < overrides. Secret files live in `MLOPS_SECRETS_DIR`, one per setting
    (`DAGSTER_PG_URL`, ...), as a Kubernetes Secret volume mounts them.

    Call it once per process, where the process assembles itself; pass the result on.
    """
    env = env or current_env()
    envs = _envs_dir()
    path = _env_dir(env) / "platform.env"
    if not path.is_file():
        if os.environ.get("MLOPS_ENV_DIR"):
            raise SettingsError(f"env {env!r}: MLOPS_ENV_DIR has no {path}")
        known = sorted(p.name for p in envs.iterdir() if (p / "platform.env").is_file())
        raise SettingsError(f"unknown env {env!r}: no {path}; known envs: {', '.join(known)}")
    try:
        secrets_dir = os.environ.get(SECRETS_DIR_VARIABLE) or None
        return Settings(_env_file=path, _secrets_dir=secrets_dir, mlops_env=env, mlops_envs_dir=envs, **overrides)
    except ValidationError as exc:
        raise SettingsError(f"invalid settings of env {env!r} ({path}): {_describe(exc)}") from None
