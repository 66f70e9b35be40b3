"""The feast layer's settings, read from the env's file and environment like the core's."""

from __future__ import annotations

from pydantic import Field

from mlops_base.layer_settings import LayerSettings


class FeastSettings(LayerSettings):
    # the online store (empty: SQLite under the state dir; or redis://host:port[/db])
    feast_online_store: str = Field("", pattern=r"^$|^redis://[^/\s]+(/[0-9]+)?$")
    # the dataset column that identifies an entity (absent: row numbers)
    feast_entity_key: str = Field("entity_id", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    feast_ttl_days: int = Field(365, ge=1)
    # how long the model server answers an entity's features from memory (0: every request reads the store)
    feast_online_cache_seconds: float = Field(5.0, ge=0)
