"""What every settings class shares: secrets marked on their fields (and masked in `repr`), read
from an env file, mounted secret files and the environment; invalid values described by name."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from mlops_base.echo import quoted

# the processes that check their secrets at start-up (the MLflow server: `mlops mlflow-server`)
Component = Literal["dagster", "serving", "mlflow"]
# every process that reads settings (the launcher: `./mlops` and its commands)
Process = Literal["launcher", "dagster", "serving", "mlflow"]
# a directory of mounted secret files, one per setting (e.g. a Kubernetes Secret volume)
SECRETS_DIR_VARIABLE = "MLOPS_SECRETS_DIR"


@dataclass(frozen=True)
class Secret:
    """Marks a setting as a secret: never shown in a UI, a resource's config or `repr`, never in a
    committed file but dev's. `needed_by`: the processes that refuse to start without it, when
    `when(settings)` holds."""

    needed_by: tuple[Component, ...] = ()
    when: Callable[[Any], bool] | None = None


@dataclass(frozen=True)
class ReadBy:
    """Marks a setting read by other processes than its class's `READ_BY` says."""

    processes: tuple[Process, ...]


def readers(model: type[BaseModel], name: str) -> tuple[Process, ...]:
    """The processes that read setting `name` of `model`: its own `ReadBy` mark, else the `READ_BY`
    of the class (in `model`'s bases) that declares it."""
    for mark in model.model_fields[name].metadata:
        if isinstance(mark, ReadBy):
            return mark.processes
    for cls in model.__mro__:
        if name in cls.__dict__.get("__annotations__", {}) and hasattr(cls, "READ_BY"):
            return cls.READ_BY
    raise LookupError(f"{model.__name__}.{name} says no process reads it (READ_BY on its class, or ReadBy)")


def secret_fields(model: type[BaseModel]) -> dict[str, Secret]:
    """The secret fields of a settings class, by field name, from their marks."""
    return {
        name: mark for name, field in model.model_fields.items() for mark in field.metadata if isinstance(mark, Secret)
    }


class EnvSettings(BaseSettings):
    """Settings read from an env's `platform.env` and the environment; secrets masked in `repr`."""

    model_config = SettingsConfigDict(extra="ignore", env_file_encoding="utf-8")

    def __repr_args__(self):
        secrets = secret_fields(type(self))
        for name, value in super().__repr_args__():
            yield name, ("**********" if name in secrets and value else value)

    def secret_values(self) -> tuple[str, ...]:
        """The values of this object's secrets that are set (e.g. for masking log messages)."""
        return tuple(str(getattr(self, name)) for name in secret_fields(type(self)) if getattr(self, name))


def describe_error(error: ValidationError, model: type[BaseModel]) -> str:
    """Each invalid setting as NAME='value': why. A secret's value is never shown, an error of the
    whole model (its input is every setting) shows none, and a long value is cut short."""
    secrets = secret_fields(model)
    problems = []
    for item in error.errors(include_url=False, include_input=True):
        loc = [str(part) for part in item["loc"]]
        if not loc:
            problems.append(item["msg"].removeprefix("Value error, "))
            continue
        value = "(secret, not shown)" if loc[0] in secrets else quoted(item["input"])
        problems.append(f"{'.'.join(loc).upper()}={value}: {item['msg']}")
    return "; ".join(problems)


def secrets_dir() -> str | None:
    """`MLOPS_SECRETS_DIR`: mounted secret files, one per setting."""
    return os.environ.get(SECRETS_DIR_VARIABLE) or None
