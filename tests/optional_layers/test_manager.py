"""The plugin manager: entry-point loading, blocking before import, validation, isolation of failures."""

from __future__ import annotations

import subprocess
import sys

import pluggy
import pytest

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


def test_a_registered_plugin_receives_events_and_a_failing_one_is_contained(caplog):
    received = []

    class Recorder:
        @hookimpl
        def mlops_lifecycle_event(self, event, payload):
            received.append((event, payload))

    class Broken:
        @hookimpl
        def mlops_lifecycle_event(self, event, payload):
            raise RuntimeError("subscriber bug")

    manager = LayerManager(set())
    manager.pm.register(Recorder(), name="recorder")
    manager.pm.register(Broken(), name="broken")
    try:
        manager.lifecycle_event("served", {"version": "2"})
    finally:
        manager.pm.unregister(name="recorder")
        manager.pm.unregister(name="broken")
    assert received == [("served", {"version": "2"})]
    assert "layer broken failed on event served" in caplog.text


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
