"""The base of each optional layer's own settings class, so the core's `Settings` knows no layer:
a layer reads its fields from the env file and the environment of the core settings it is handed."""

from __future__ import annotations

import os
from typing import TypeVar

from pydantic import ValidationError

from mlops_base.env_settings import EnvSettings, describe_error, secret_fields, secrets_dir
from mlops_base.settings import Settings, SettingsError

LayerSettingsT = TypeVar("LayerSettingsT", bound="LayerSettings")


class LayerSettings(EnvSettings):
    """The base of a layer's own settings class: read from the env file and the environment of the
    core `Settings` it is derived from, so the bottom package knows no layer."""

    @classmethod
    def of(cls: type[LayerSettingsT], settings: Settings) -> LayerSettingsT:
        """This layer's settings in the env of `settings` (environment variables override the file).

        Read again only when the file or one of the class's environment variables changed, so a
        hook may call it per request."""
        path, mounted = settings.env_file, secrets_dir()
        stamp = path.stat().st_mtime_ns if path.is_file() else None
        key = (cls, path, stamp, mounted, tuple(os.environ.get(name.upper()) for name in cls.model_fields))
        found = _layer_settings.get(key)
        if found is None:
            try:
                found = _layer_settings[key] = cls(_env_file=path, _secrets_dir=mounted)
            except ValidationError as exc:
                raise SettingsError(
                    f"invalid {cls.__name__} of env {settings.mlops_env!r} ({path}): {describe_error(exc, cls)}"
                ) from None
        return found


_layer_settings: dict[tuple, LayerSettings] = {}


def all_secret_names() -> set[str]:
    """Every secret setting of the core and of the layers imported so far, as variable names."""
    classes = [Settings, *LayerSettings.__subclasses__()]
    return {name.upper() for cls in classes for name in secret_fields(cls)}
