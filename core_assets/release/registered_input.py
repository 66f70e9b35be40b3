"""How `served_alias` receives the version the graph registered: as `registered_model_version`'s
value (this run's own, else the last one stored), through the run's IO manager; None when the graph
has registered none yet (a rollback or a promote needs none), instead of a failed input."""

from __future__ import annotations

from typing import Any

from dagster import InputContext, input_manager

REGISTERED_INPUT = "registered_version_input"


@input_manager(required_resource_keys={"io_manager"})
def registered_version_input(context: InputContext) -> dict[str, Any] | None:
    """`registered_model_version`'s value, or None when the IO manager holds none."""
    try:
        return context.resources.io_manager.load_input(context)
    except FileNotFoundError:  # the local files, and the S3 manager's absent key (core_assets.s3_io)
        return None
