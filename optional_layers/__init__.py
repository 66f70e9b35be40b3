"""Optional layers (feature store, monitoring, logging) that attach to the core through hooks.

The core never imports this package's layers; until the hook system lands, lifecycle events go
through `core_assets.lib.events.emit_lifecycle_event` only.
"""
