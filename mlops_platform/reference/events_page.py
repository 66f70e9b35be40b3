"""docs/reference/events-and-hooks.md: the lifecycle and serving events, and every hook a layer
may implement, from their Literal types and `layer_api.hookspecs`."""

from __future__ import annotations

import inspect
from typing import get_args

import pluggy

from layer_api import hookspecs
from layer_api.events import WARNING_EVENTS, LifecycleEvent, ServingEvent


def _hooks() -> list[tuple[str, str, bool, str]]:
    manager = pluggy.PluginManager(hookspecs.PROJECT)
    found = []
    for name, function in inspect.getmembers(hookspecs, inspect.isfunction):
        options = manager.parse_hookspec_opts(hookspecs, name)
        if options is None:
            continue
        doc = " ".join(inspect.getdoc(function).split("\n\n")[0].split()).replace("|", "\\|")
        signature = str(inspect.signature(function)).replace("|", "\\|")
        found.append((name, signature, bool(options.get("firstresult")), doc))
    return found


def page() -> str:
    lines = [
        "# Events and hooks",
        "",
        "Generated from the event types and `layer_api/hookspecs.py` by `python -m mlops_platform.reference`;",
        "a test fails when this page is stale. [Writing a layer](../guides/writing-a-layer.md) shows them in use.",
        "",
        "## Lifecycle events (`mlops_lifecycle_event`)",
        "",
        "Emitted by the release path in the Dagster run or sensor that caused them, logged by `mlops.lifecycle`.",
        "",
        "| event | logged at |",
        "|---|---|",
        *(f"| `{e}` | {'WARNING' if e in WARNING_EVENTS else 'INFO'} |" for e in get_args(LifecycleEvent)),
        "",
        "## Serving events (`mlops_serving_event`)",
        "",
        "Emitted by the model server's process: " + ", ".join(f"`{e}`" for e in get_args(ServingEvent)) + ".",
        "",
        "## Hooks",
        "",
        "| hook | first result only | what |",
        "|---|---|---|",
    ]
    for name, signature, first, doc in _hooks():
        lines.append(f"| `{name}{signature}` | {'yes' if first else 'no'} | {doc} |")
    return "\n".join([*lines, ""])
