"""The feast layer's settings, read from the env's file and environment like the core's."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field

from mlops_base.env_settings import Process, ReadBy
from mlops_base.layer_settings import LayerSettings


class FeastSettings(LayerSettings):
    READ_BY: ClassVar[tuple[Process, ...]] = ("dagster", "serving")

    # the online store (empty: SQLite under the state dir; or redis://host:port[/db])
    feast_online_store: str = Field("", pattern=r"^$|^redis://[^/\s]+(/[0-9]+)?$")
    # the dataset column that identifies an entity (absent: row numbers)
    feast_entity_key: str = Field("entity_id", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    feast_ttl_days: int = Field(365, ge=1)
    # how long the model server answers an entity's features from memory (0: every request reads the store)
    feast_online_cache_seconds: Annotated[float, ReadBy(("serving",))] = Field(5.0, ge=0)
