"""docs/reference/settings.md: every setting of the core and of each layer, from the settings classes
(default, allowed values, secret), the env files (each env's value) and `READERS` below."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic_settings import BaseSettings

from mlops_base.env_settings import secret_fields
from mlops_base.settings import REPO_ROOT, Settings
from optional_layers.alerts import AlertsSettings
from optional_layers.evaluation.settings import EvaluationSettings
from optional_layers.feast.settings import FeastSettings
from optional_layers.loki.settings import LoggingSettings
from optional_layers.monitoring.settings import MonitoringSettings

Process = Literal["launcher", "dagster", "serving", "mlflow"]
PROCESS_NAMES: dict[Process, str] = {
    "launcher": "`./mlops` (the launcher and its commands)",
    "dagster": "Dagster: the code location, its sensors and runs",
    "serving": "the model server (each replica)",
    "mlflow": "the MLflow server",
}
SECTIONS = [
    ("Core", Settings),
    ("Alerts (built in)", AlertsSettings),
    ("Layer: monitoring", MonitoringSettings),
    ("Layer: feast", FeastSettings),
    ("Layer: logging", LoggingSettings),
    ("Layer: evaluation", EvaluationSettings),
]


def _readers(groups: dict[tuple[str, ...], tuple[Process, ...]]) -> dict[str, tuple[Process, ...]]:
    return {name: processes for names, processes in groups.items() for name in names}


# Which processes read each setting (the test fails when a setting is missing here, or gone).
READERS = _readers(
    {
        ("mlops_env", "mlops_envs_dir", "mlops_env_dir", "mlops_state_dir"): (
            "launcher",
            "dagster",
            "serving",
            "mlflow",
        ),
        ("mlflow_tracking_uri", "model_name"): ("launcher", "dagster", "serving"),
        ("mlflow_experiment", "dataset", "target_column", "test_size", "split_seed", "task"): ("dagster",),
        ("estimator", "estimator_params", "trainer", "gate_metric", "gate_threshold"): ("dagster",),
        ("min_accuracy", "gate_max_regression", "serving_replicas_dns", "s3_prefix", "k8s_executor_jobs"): ("dagster",),
        ("dagster_pg_url", "aws_access_key_id", "aws_secret_access_key"): ("dagster",),
        ("target_alias", "serving_url", "serving_replica_urls"): ("launcher", "dagster"),
        ("otel_exporter_otlp_endpoint", "reload_secret_token"): ("dagster", "serving"),
        ("reload_secret_token_previous", "reload_max_failures", "reload_lockout_s"): ("serving",),
        ("alias_selection_mode", "default_alias", "ab_test_percent", "canary_percent"): ("serving",),
        ("serving_backend", "serving_backend_by_alias", "triton_admin_key", "triton_timeout_s"): ("serving",),
        ("max_rows", "max_body_bytes", "batch_max_rows", "batch_max_wait_us"): ("serving",),
        ("alias_poll_seconds", "model_artifact_roots"): ("serving",),
        ("triton_url", "triton_model_repository"): ("launcher", "serving"),
        ("storage", "s3_bucket", "s3_endpoint_url", "mlflow_artifacts_prefix"): ("launcher", "dagster", "mlflow"),
        ("mlflow_allowed_hosts", "mlflow_backend_store_uri"): ("launcher", "mlflow"),
        ("postgres_port", "mlflow_port", "dagster_port", "serving_port"): ("launcher",),
        ("slack_webhook_url",): ("launcher", "dagster"),
        ("pushgateway_url", "prometheus_url", "rollback_max_error_ratio", "rollback_max_p99_seconds"): ("dagster",),
        ("rollback_window",): ("dagster",),
        ("feast_online_store", "feast_entity_key", "feast_ttl_days"): ("dagster", "serving"),
        ("feast_online_cache_seconds",): ("serving",),
        ("loki_url",): ("dagster", "serving"),
        ("prediction_log_sample", "prediction_log_queue", "prediction_log_rotate_mb", "feedback_ttl_hours"): (
            "serving",
        ),
        ("evaluation_db_url", "evaluation_alpha", "evaluation_min_samples", "evaluation_mixing_sd"): (
            "dagster",
            "serving",
        ),
        ("evaluation_min_new_outcomes", "evaluation_every_minutes", "auto_promote"): ("dagster",),
    }
)


def env_values(envs_dir: Path = REPO_ROOT / "envs") -> dict[str, dict[str, str]]:
    """Each env's `platform.env`, as KEY -> value (comments and blank lines left out)."""
    found = {}
    for env_file in sorted(envs_dir.glob("*/platform.env")):
        values = {}
        for line in env_file.read_text().splitlines():
            key, sep, value = line.partition("=")
            if sep and not line.lstrip().startswith("#"):
                values[key.strip()] = value.strip()
        found[env_file.parent.name] = values
    return found


def _allowed(schema: dict) -> str:
    options = [schema, *schema.get("anyOf", [])]
    enums = [value for option in options for value in option.get("enum", [option.get("const")]) if value is not None]
    if enums:
        return " \\| ".join(f"`{value}`" for value in enums)
    limits = [
        f"{sign} {schema[key]}"
        for key, sign in (("minimum", "≥"), ("exclusiveMinimum", ">"), ("maximum", "≤"), ("exclusiveMaximum", "<"))
        if key in schema
    ]
    kinds = sorted({option["type"] for option in options if "type" in option and option["type"] != "null"})
    text = " or ".join(kinds) + (f" ({', '.join(limits)})" if limits else "")
    if "pattern" in schema:
        text += f", matching `{schema['pattern']}`".replace("|", "\\|")
    return text or "any"


def _default(value: object) -> str:
    if value in ("", None):
        return "(empty)"
    return f"`{value}`"


def _on_change(processes: tuple[Process, ...]) -> str:
    return "restart" if any(p != "dagster" for p in processes) else "reload"


def _row(name: str, field, schema: dict, envs: dict[str, dict[str, str]], secret) -> str:
    key = name.upper()
    default = "" if field.default is None else str(field.default)
    differs = [f"{env}: `{values[key]}`" for env, values in envs.items() if values.get(key, default) != default]
    readers = READERS.get(name, ())
    secret_text = "no"
    if secret is not None:
        secret_text = "**yes**" + (f", {'/'.join(secret.needed_by)} needs it" if secret.needed_by else "")
    about = (field.description or "").replace("|", "\\|")
    allowed = _allowed(schema) + (f"; {about}" if about else "")
    return (
        f"| `{key}` | {_default(field.default)} | {'<br>'.join(differs) or '-'} | {allowed} | "
        f"{', '.join(readers)} | {_on_change(readers)} | {secret_text} |"
    )


def _section(title: str, model: type[BaseSettings], envs: dict[str, dict[str, str]]) -> list[str]:
    properties = model.model_json_schema()["properties"]
    secrets = secret_fields(model)
    fields = {name: field for name, field in model.model_fields.items() if name not in _inherited(model)}
    lines = [
        f"## {title}",
        "",
        f"`{model.__module__}.{model.__name__}`",
        "",
        "| setting | default | envs that differ | allowed | read by | a change needs | secret |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += [_row(name, field, properties[name], envs, secrets.get(name)) for name, field in fields.items()]
    return [*lines, ""]


def _inherited(model: type[BaseSettings]) -> set[str]:
    """Fields a layer's class shares with its base (none today): documented once, under the base."""
    return set().union(*(base.model_fields for base in model.__mro__[1:] if hasattr(base, "model_fields")))


def all_settings() -> dict[str, type[BaseSettings]]:
    return {name: model for _, model in SECTIONS for name in model.model_fields if name not in _inherited(model)}


def page() -> str:
    envs = env_values()
    lines = [
        "# Settings",
        "",
        "Generated from the settings classes and `envs/*/platform.env` by `python -m mlops_platform.reference`;",
        "a test fails when this page is stale. A value comes from the env's `platform.env`, overridden by",
        "the environment (and, for secrets, by a file in `MLOPS_SECRETS_DIR`). Secrets are never committed",
        "but for dev's, never shown in a UI or a log.",
        "",
        "*Read by*: " + "; ".join(f"`{key}`: {text}" for key, text in PROCESS_NAMES.items()) + ".",
        "*A change needs*: **reload**: the Dagster code location reloads it (`./mlops up` does so by",
        "itself when the env's files change; under `dagster dev`, click *Reload*); **restart**: the",
        "processes that read it start again (`./mlops up` locally; a rollout on Kubernetes).",
        "",
    ]
    for title, model in SECTIONS:
        lines += _section(title, model, envs)
    return "\n".join(lines)
