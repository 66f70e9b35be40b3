"""The plugin manager: entry-point loading, blocking before import, validation, isolation of failures."""

from __future__ import annotations

import subprocess
import sys

import pluggy
import pytest

from layer_api.hookspecs import hookimpl
from layer_api.manager import LayerManager, known_layers
from mlops_base.settings import load_settings


def test_monitoring_is_an_installed_layer_and_alerts_is_built_in():
    assert "monitoring" in known_layers() and "alerts" not in known_layers()
    settings = load_settings("dev")
    assert LayerManager(settings, set()).loaded() == ["alerts"]
    assert LayerManager(settings, {"monitoring"}).loaded() == ["alerts", "monitoring"]


def test_each_layer_is_an_object_built_once_with_the_settings_of_its_process(tmp_path):
    """Two managers (two processes' worth) hold two layer objects, each with its own settings and state."""
    first = LayerManager(load_settings("dev", model_name="first", mlops_state_dir=tmp_path / "1"), {"monitoring"})
    second = LayerManager(load_settings("dev", model_name="second", mlops_state_dir=tmp_path / "2"), {"monitoring"})
    one, two = first.pm.get_plugin("monitoring"), second.pm.get_plugin("monitoring")
    assert type(one).__name__ == "MonitoringLayer" and one is not two
    assert (one.settings.model_name, two.settings.model_name) == ("first", "second")
    assert one.metrics.registry is not two.metrics.registry


def test_an_entry_point_that_is_not_a_factory_is_refused_by_name():
    import types

    from layer_api.manager import LayerError, _build

    with pytest.raises(LayerError, match="layer 'old-style': its entry point must name a factory"):
        _build("old-style", types.ModuleType("old_style"), load_settings("dev"))


def test_disabled_layers_are_never_imported():
    code = (
        "import sys; from layer_api.manager import LayerManager; from mlops_base.settings import load_settings; "
        "LayerManager(load_settings('dev'), set()); "
        "print(sorted(m for m in sys.modules if m.startswith(('optional_layers.monitoring', 'prometheus_client'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_events_go_through_pm_hook_with_subsetting_wrappers_and_isolation(caplog):
    """As pluggy documents: an implementation may take a subset of the arguments, a wrapper wraps
    the call (here: each subscriber's), and one subscriber raising stops no other."""
    received, wrapped = [], []

    class OnlyEvent:
        @hookimpl
        def mlops_lifecycle_event(self, event):
            received.append(("only_event", event))

    class AllArguments:
        @hookimpl
        def mlops_lifecycle_event(self, event, payload):
            received.append(("all", event, payload))

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

    manager = LayerManager(load_settings("dev"), set())
    plugins = {"only_event": OnlyEvent(), "all": AllArguments(), "broken": Broken(), "tracer": Tracer()}
    for name, plugin in plugins.items():
        manager.pm.register(plugin, name=name)
    try:
        manager.lifecycle_event("served", {"version": "2"})
    finally:
        for name in plugins:
            manager.pm.unregister(name=name)
    assert ("only_event", "served") in received
    assert ("all", "served", {"version": "2"}) in received
    assert "layer broken failed on mlops_lifecycle_event served" in caplog.text
    assert "RuntimeError: subscriber bug" in caplog.text
    # the wrapper saw every subscriber's call, the failing one included (4 subscribers: alerts too)
    assert wrapped.count("before served") == wrapped.count("after served") == 4

    manager.lifecycle_event("rolled_back", {})  # unregistered: its cached callers are gone too
    assert [r for r in received if r[1] == "rolled_back"] == [] and "before rolled_back" not in wrapped


def test_check_pending_rejects_a_misspelled_hook():
    class Misspelled:
        @hookimpl
        def mlops_lifecycle_evnt(self, event, payload):
            pass

    manager = LayerManager(load_settings("dev"), set())
    manager.pm.register(Misspelled(), name="misspelled")
    try:
        with pytest.raises(pluggy.PluginValidationError):
            manager.pm.check_pending()
    finally:
        manager.pm.unregister(name="misspelled")
