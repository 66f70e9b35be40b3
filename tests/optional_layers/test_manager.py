"""The plugin manager: entry-point loading, blocking before import, validation, isolation of failures."""

from __future__ import annotations

import subprocess
import sys

import pluggy
import pytest

from mlops_base.settings import load_settings
from optional_layers.hookspecs import hookimpl
from optional_layers.manager import LayerManager, known_layers


def test_monitoring_is_an_installed_layer_and_alerts_is_built_in():
    assert "monitoring" in known_layers() and "alerts" not in known_layers()
    assert LayerManager(set()).loaded() == ["alerts"]
    assert LayerManager({"monitoring"}).loaded() == ["alerts", "monitoring"]


def test_disabled_layers_are_never_imported():
    code = (
        "import sys; from optional_layers.manager import LayerManager; LayerManager(set()); "
        "print(sorted(m for m in sys.modules if m.startswith(('optional_layers.monitoring', 'prometheus_client'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_events_go_through_pm_hook_with_subsetting_wrappers_and_isolation(caplog):
    """As pluggy documents: an implementation may take a subset of the arguments, a wrapper wraps
    the call (here: each subscriber's), and one subscriber raising stops no other."""
    received, wrapped = [], []
    settings = load_settings("dev", model_name="from-the-caller")

    class OnlyEvent:
        @hookimpl
        def mlops_lifecycle_event(self, event):
            received.append(("only_event", event))

    class AllArguments:
        @hookimpl
        def mlops_lifecycle_event(self, event, payload, settings):
            received.append(("all", event, payload, settings.model_name))

    class Broken:
        @hookimpl
        def mlops_lifecycle_event(self, event, payload):
            raise RuntimeError("subscriber bug")

    class Tracer:
        @hookimpl(wrapper=True)
        def mlops_lifecycle_event(self, event):
            wrapped.append(f"before {event}")
            try:
                return (yield)
            finally:
                wrapped.append(f"after {event}")

    manager = LayerManager(set())
    plugins = {"only_event": OnlyEvent(), "all": AllArguments(), "broken": Broken(), "tracer": Tracer()}
    for name, plugin in plugins.items():
        manager.pm.register(plugin, name=name)
    try:
        manager.lifecycle_event("served", {"version": "2"}, settings)
    finally:
        for name in plugins:
            manager.pm.unregister(name=name)
    assert ("only_event", "served") in received
    assert ("all", "served", {"version": "2"}, "from-the-caller") in received
    assert "layer broken failed on mlops_lifecycle_event served" in caplog.text
    assert "RuntimeError: subscriber bug" in caplog.text
    # the wrapper saw every subscriber's call, the failing one included (4 subscribers: alerts too)
    assert wrapped.count("before served") == wrapped.count("after served") == 4

    manager.lifecycle_event("rolled_back", {}, settings)  # unregistered: its cached callers are gone too
    assert [r for r in received if r[1] == "rolled_back"] == [] and "before rolled_back" not in wrapped


def test_check_pending_rejects_a_misspelled_hook():
    class Misspelled:
        @hookimpl
        def mlops_lifecycle_evnt(self, event, payload):
            pass

    manager = LayerManager(set())
    manager.pm.register(Misspelled(), name="misspelled")
    try:
        with pytest.raises(pluggy.PluginValidationError):
            manager.pm.check_pending()
    finally:
        manager.pm.unregister(name="misspelled")
