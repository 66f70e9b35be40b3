"""docs/reference/settings.md: every setting of the core (one section per concern class) and of each
installed layer (its entry point's `SETTINGS`, third-party layers too), from the classes: default,
allowed values, secret, and the processes that read it (`READ_BY`, `ReadBy`); each env's value
from the env files."""

from __future__ import annotations

from datetime import timedelta
from importlib.metadata import entry_points
from pathlib import Path

from pydantic_settings import BaseSettings

from layer_api.manager import BUILTIN, ENTRY_POINT_GROUP
from mlops_base.env_settings import Process, readers, secret_fields
from mlops_base.settings import REPO_ROOT
from mlops_base.settings_concerns import CONCERNS

PROCESS_NAMES: dict[Process, str] = {
    "launcher": "`./mlops` (the launcher and its commands)",
    "dagster": "Dagster: the code location, its sensors and runs",
    "serving": "the model server (each replica)",
    "mlflow": "the MLflow server",
}


def sections() -> list[tuple[str, type[BaseSettings]]]:
    """The core's concerns, then each installed layer's settings class (built-in ones first)."""
    core = [(f"Core: {model.TITLE}", model) for model in CONCERNS]
    layers = []
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: (ep.name not in BUILTIN, ep.name)):
        model = getattr(ep.load(), "SETTINGS", None)
        if model is not None:
            kind = "built in" if ep.name in BUILTIN else "layer"
            layers.append((f"{ep.name.capitalize()} ({kind})" if kind == "built in" else f"Layer: {ep.name}", model))
    return [*core, *layers]


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
    if schema.get("format") == "duration":
        text = "duration (ISO 8601, e.g. `PT6H`, `P7D`; or seconds)"
    return text or "any"


def iso_duration(value: timedelta) -> str:
    """A duration as ISO 8601 (what the settings file takes): `P7D`, `PT6H`, `PT90S`."""
    seconds = int(value.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    clock = "".join(f"{n}{unit}" for n, unit in ((hours, "H"), (minutes, "M"), (seconds, "S")) if n)
    return "P" + (f"{days}D" if days else "") + (f"T{clock}" if clock else "" if days else "T0S")


def _default(value: object) -> str:
    if value in ("", None):
        return "(empty)"
    return f"`{value}`"


def _on_change(processes: tuple[Process, ...]) -> str:
    return "restart" if any(p != "dagster" for p in processes) else "reload"


def _row(model: type[BaseSettings], name: str, schema: dict, envs: dict[str, dict[str, str]], secret) -> str:
    field = model.model_fields[name]
    key = name.upper()
    default = "" if field.default is None else str(field.default)
    if isinstance(field.default, timedelta):  # as the settings file writes it
        default = iso_duration(field.default)
    differs = [f"{env}: `{values[key]}`" for env, values in envs.items() if values.get(key, default) != default]
    read_by = readers(model, name)
    secret_text = "no"
    if secret is not None:
        secret_text = "**yes**" + (f", {'/'.join(secret.needed_by)} needs it" if secret.needed_by else "")
    about = (field.description or "").replace("|", "\\|")
    allowed = _allowed(schema) + (f"; {about}" if about else "")
    return (
        f"| `{key}` | {_default(default)} | {'<br>'.join(differs) or '-'} | {allowed} | "
        f"{', '.join(read_by)} | {_on_change(read_by)} | {secret_text} |"
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
    lines += [_row(model, name, properties[name], envs, secrets.get(name)) for name in fields]
    return [*lines, ""]


def _inherited(model: type[BaseSettings]) -> set[str]:
    """Fields a class shares with its base (none today): documented once, under the base."""
    return set().union(*(base.model_fields for base in model.__mro__[1:] if hasattr(base, "model_fields")))


def all_settings() -> dict[str, type[BaseSettings]]:
    return {name: model for _, model in sections() for name in model.model_fields if name not in _inherited(model)}


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
    for title, model in sections():
        lines += _section(title, model, envs)
    return "\n".join(lines)
