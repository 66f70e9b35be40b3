"""The core's settings, one class per concern, each naming the processes that read it (`READ_BY`;
a field read by others says so with `ReadBy`). `mlops_base.settings.Settings` composes them; the
settings reference's sections and its "read by" column come from here, not from a hand-kept list.
The model server's concern, the largest, has a module of its own (`mlops_base.serving_settings`)."""

from __future__ import annotations

import os
from datetime import timedelta
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, Json, field_validator, model_validator

from mlops_base.aliases import Alias
from mlops_base.batch_settings import BatchSettings
from mlops_base.env_settings import EnvSettings, Process, ReadBy, Secret
from mlops_base.serving_settings import ServingSettings

REPO_ROOT = Path(__file__).resolve().parents[1]

# what the model predicts, and the metrics its quality gate may judge it by
Task = Literal["classification", "regression"]
GateMetric = Literal["accuracy", "f1_macro", "roc_auc", "log_loss", "r2", "rmse", "mae"]
TASK_METRICS: dict[Task, tuple[GateMetric, ...]] = {
    "classification": ("accuracy", "f1_macro", "roc_auc", "log_loss"),
    "regression": ("r2", "rmse", "mae"),
}
LOWER_IS_BETTER: frozenset[GateMetric] = frozenset({"log_loss", "rmse", "mae"})
# `package.module.Name` (a class or factory) or `package.module:function`
IMPORT_PATH = r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*([.:][A-Za-z_]\w*)$"
EVERY_PROCESS: tuple[Process, ...] = ("launcher", "dagster", "serving", "mlflow")


class SettingsError(ValueError):
    """The env does not exist, or one of its settings is invalid (or cannot work for this process)."""


def resolve_env_dir(env: str, envs_dir: Path | None = None, env_dir: Path | None = None) -> Path:
    """The env's own folder (`platform.env`, `layers.yaml`): `env_dir` (`MLOPS_ENV_DIR`: a Kubernetes
    pod mounts the env's ConfigMaps there) when given, else `<env tree>/<env>`, the env tree being
    `envs_dir` (`MLOPS_ENVS_DIR`, e.g. a separate config checkout) or the repo's `envs/`."""
    explicit = env_dir or os.environ.get("MLOPS_ENV_DIR")
    if explicit:
        return Path(explicit)
    return Path(envs_dir or os.environ.get("MLOPS_ENVS_DIR") or REPO_ROOT / "envs") / env


def current_env() -> str:
    """`MLOPS_ENV`, `dev` when unset."""
    return os.environ.get("MLOPS_ENV", "dev")


def url_list(text: str) -> list[str]:
    """A comma-separated list of URLs (SERVING_REPLICA_URLS), without blanks or trailing slashes:
    the one parser of it."""
    return [url.strip().rstrip("/") for url in text.split(",") if url.strip()]


def _uses_postgres_s3(settings: Any) -> bool:
    return settings.storage == "postgres-s3"


class EnvChoice(EnvSettings):
    """Which env, and where its files and local state are."""

    TITLE: ClassVar[str] = "env"
    READ_BY: ClassVar[tuple[Process, ...]] = EVERY_PROCESS

    mlops_env: str = "dev"
    mlops_envs_dir: Path | None = None  # MLOPS_ENVS_DIR: the env tree, when not the repo's envs/
    mlops_env_dir: Path | None = None  # MLOPS_ENV_DIR: the env's own folder, when not under the env tree
    mlops_state_dir: Path | None = None

    @cached_property
    def state_dir(self) -> Path:
        """The env's git-ignored local state (`.mlops/<env>/` unless overridden)."""
        path = self.mlops_state_dir or REPO_ROOT / ".mlops" / self.mlops_env
        return Path(path).resolve()

    @property
    def env_dir(self) -> Path:
        """`envs/<env>/` (or `MLOPS_ENV_DIR`): the env's settings file and its `layers.yaml`."""
        return resolve_env_dir(self.mlops_env, self.mlops_envs_dir, self.mlops_env_dir)

    @property
    def env_file(self) -> Path:
        return self.env_dir / "platform.env"


class RegistrySettings(EnvSettings):
    """The MLflow registry and the model in it."""

    TITLE: ClassVar[str] = "registry"
    READ_BY: ClassVar[tuple[Process, ...]] = ("launcher", "dagster", "serving")

    mlflow_tracking_uri: str = "http://127.0.0.1:5000"
    model_name: str = "iris-classifier"


class TrainingSettings(EnvSettings):
    """The data, the training and the quality gate."""

    TITLE: ClassVar[str] = "training and gate"
    READ_BY: ClassVar[tuple[Process, ...]] = ("dagster",)

    mlflow_experiment: str = "iris"
    dataset: str = Field("iris", description="a CSV or Parquet file, or iris | diabetes | wine | breast_cancer")
    target_column: str = "target"
    test_size: float = Field(0.25, gt=0, lt=1)
    split_seed: int = 42
    task: Task = "classification"
    estimator: str = Field("sklearn.ensemble.RandomForestClassifier", pattern=IMPORT_PATH)
    estimator_params: Json[dict[str, Any]] = Field(default="{}", validate_default=True)
    trainer: str = Field("", pattern=r"^$|^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*$")
    # the blocking gate: GATE_METRIC (default: accuracy, r2 for regression) against GATE_THRESHOLD
    # (a minimum, a maximum for error metrics; default for accuracy: MIN_ACCURACY), and with
    # GATE_MAX_REGRESSION, at most that much worse than the champion (alias A)
    gate_metric: GateMetric | None = None
    gate_threshold: float | None = None
    min_accuracy: float = 0.9
    gate_max_regression: float | None = Field(None, ge=0)

    @field_validator("gate_metric", "gate_threshold", "gate_max_regression", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        return None if value == "" else value

    @model_validator(mode="after")
    def _metric_fits_task(self) -> Any:
        if self.gate_metric is not None and self.gate_metric not in TASK_METRICS[self.task]:
            raise ValueError(
                f"GATE_METRIC {self.gate_metric!r} does not judge a {self.task} model; "
                f"use one of {', '.join(TASK_METRICS[self.task])}"
            )
        if self.gate_threshold is None and self.gate_metric not in (None, "accuracy"):
            raise ValueError(f"GATE_METRIC {self.gate_metric!r} needs GATE_THRESHOLD")
        if self.task == "regression" and self.gate_metric is None and self.gate_threshold is None:
            raise ValueError("TASK=regression needs GATE_METRIC and GATE_THRESHOLD (e.g. r2 and 0.3)")
        return self

    @property
    def gate(self) -> tuple[GateMetric, float]:
        """The gate's metric and threshold (a maximum for LOWER_IS_BETTER metrics)."""
        metric = self.gate_metric or ("accuracy" if self.task == "classification" else "r2")
        threshold = self.gate_threshold if self.gate_threshold is not None else self.min_accuracy
        return metric, threshold


class ReleaseSettings(EnvSettings):
    """Which alias a release moves, and the model-server replicas it hot-swaps and verifies."""

    TITLE: ClassVar[str] = "release"
    READ_BY: ClassVar[tuple[Process, ...]] = ("launcher", "dagster")

    target_alias: Alias = Alias.B
    serving_url: str = ""
    # every replica a release reloads and verifies: a comma-separated list of URLs (local, static
    # setups), or a headless Service's `host:port` whose DNS records name each pod (a cluster);
    # neither: SERVING_URL alone
    serving_replica_urls: str = Field("", pattern=r"^$|^\s*https?://[^,\s]+(\s*,\s*https?://[^,\s]+)*\s*$")
    serving_replicas_dns: Annotated[str, ReadBy(("dagster",))] = Field("", pattern=r"^$|^[A-Za-z0-9.-]+:\d+$")
    # the token of the replicas' reload routes: the release sends it, each replica checks it, prod-local
    # generates one when it is unset
    reload_secret_token: Annotated[str, Secret(needed_by=("serving",)), ReadBy(("launcher", "dagster", "serving"))] = ""
    # the ramp (ALIAS_SELECTION_MODE=ramp): how much worse than A B may be on a guardrail (a share of
    # requests for errors and latency, of answers for accuracy, of A's MAE for a regressor), how long
    # each step lasts at least, and the chance of any wrong abort over a whole ramp
    ramp_margin: Annotated[float, ReadBy(("dagster",))] = Field(0.005, gt=0, lt=1)
    ramp_min_exposure: Annotated[timedelta, ReadBy(("dagster",))] = timedelta(minutes=10)
    ramp_alpha: Annotated[float, ReadBy(("dagster",))] = Field(0.05, gt=0, lt=0.5)
    # the replay pre-flight (a check on registered_model_version): how many logged requests, how
    # far back, and the share of them the candidate may fail on (refused or raised) and still go out
    replay_rows: int = Field(1_000, ge=10, le=100_000)
    replay_window: timedelta = timedelta(days=1)
    replay_max_errors: float = Field(0.01, ge=0, le=1)
    # the synthetic probe: every this many minutes (0: off; on in prod) the row recorded when each
    # served version was trained goes through every protocol to every replica; an answer other than
    # the recorded one, an error or one slower than the budget fails a check on served_alias and alerts
    synthetic_probe_minutes: Annotated[int, ReadBy(("dagster",))] = Field(0, ge=0, le=60)
    synthetic_probe_budget_ms: Annotated[float, ReadBy(("dagster",))] = Field(500.0, gt=0)

    @property
    def replica_url_list(self) -> list[str]:
        """SERVING_REPLICA_URLS as a list."""
        return url_list(self.serving_replica_urls)


class TracingSettings(EnvSettings):
    """OpenTelemetry: traces of the model server and the runs over OTLP/HTTP (empty: tracing off)."""

    TITLE: ClassVar[str] = "tracing"
    READ_BY: ClassVar[tuple[Process, ...]] = ("dagster", "serving")

    otel_exporter_otlp_endpoint: str = Field("", pattern=r"^$|^https?://\S+$")
    # 0.001: ~10 traces/s at 10,000 req/s (one every 10 s at 100 req/s), enough to see the latency
    # modes over minutes; a traced request costs 2-4x an untraced one's CPU (the SDK's span and its
    # export, measured): at 0.01 tracing cost 4-12% of the throughput, at 0.001 within the noise (<3%)
    tracing_sample_ratio: Annotated[float, ReadBy(("serving",))] = Field(
        0.001,
        ge=0.0,
        le=1.0,
        description="share of scoring requests traced when no caller's traceparent decides (a sampled one "
        "is always followed, an unsampled one never); control routes always",
    )


class StorageSettings(EnvSettings):
    """Where the registry, the runs and the artifacts are kept: "local" = SQLite and files under the
    state dir; "postgres-s3" = Dagster's instance and MLflow's registry on Postgres, asset values,
    compute logs and model artifacts in S3."""

    TITLE: ClassVar[str] = "storage"
    READ_BY: ClassVar[tuple[Process, ...]] = ("launcher", "dagster", "mlflow")

    storage: Literal["local", "postgres-s3"] = "local"
    s3_bucket: str = Field("", pattern=r"^$|^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
    s3_prefix: Annotated[str, ReadBy(("dagster",))] = "dagster"
    s3_endpoint_url: str = Field("", description="empty: AWS S3; else an S3-compatible endpoint")
    mlflow_artifacts_prefix: str = "mlflow"
    mlflow_allowed_hosts: Annotated[str, ReadBy(("launcher", "mlflow"))] = Field(
        "", description="MLflow server's --allowed-hosts; empty: its default"
    )
    # jobs whose steps each run in their own Kubernetes pod (k8s_job_executor); comma-separated
    k8s_executor_jobs: Annotated[str, ReadBy(("dagster",))] = ""
    # storage secrets (environment or mounted files, see `load_settings`)
    dagster_pg_url: Annotated[str, Secret(needed_by=("dagster",), when=_uses_postgres_s3), ReadBy(("dagster",))] = ""
    mlflow_backend_store_uri: Annotated[
        str, Secret(needed_by=("mlflow",), when=_uses_postgres_s3), ReadBy(("launcher", "mlflow"))
    ] = ""
    aws_access_key_id: Annotated[str, Secret(needed_by=("dagster",), when=_uses_postgres_s3), ReadBy(("dagster",))] = ""
    aws_secret_access_key: Annotated[
        str, Secret(needed_by=("dagster",), when=_uses_postgres_s3), ReadBy(("dagster",))
    ] = ""

    @model_validator(mode="after")
    def _s3_needs_a_bucket(self) -> Any:
        if self.storage == "postgres-s3" and not self.s3_bucket:
            raise ValueError("STORAGE=postgres-s3 needs S3_BUCKET")
        return self

    @property
    def mlflow_artifacts_destination(self) -> str:
        """Where the MLflow server keeps the artifacts it proxies: S3 with `STORAGE=postgres-s3`,
        else empty (its own dir under the state dir). Clients never see it."""
        if self.storage == "postgres-s3":
            return f"s3://{self.s3_bucket}/{self.mlflow_artifacts_prefix}"
        return ""


class LauncherSettings(EnvSettings):
    """The local launcher's ports (`./mlops up`)."""

    TITLE: ClassVar[str] = "launcher"
    READ_BY: ClassVar[tuple[Process, ...]] = ("launcher",)

    postgres_port: int = 5432
    mlflow_port: int = 5000
    dagster_port: int = 3000
    serving_port: int = 8000


# in the order the settings reference shows them
CONCERNS: tuple[type[EnvSettings], ...] = (
    EnvChoice,
    RegistrySettings,
    TrainingSettings,
    ReleaseSettings,
    TracingSettings,
    ServingSettings,
    BatchSettings,
    StorageSettings,
    LauncherSettings,
)
