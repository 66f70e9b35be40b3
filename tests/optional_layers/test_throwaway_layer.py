"""Adding a layer touches nothing in the core: a throwaway layer, installed through the entry-point
machinery (a dist-info on sys.path), contributes an asset, a route and an event subscriber; once
uninstalled, it is gone."""

from __future__ import annotations

import shutil
import sys

from fastapi.testclient import TestClient

from core_assets.definitions import build_definitions
from core_assets.lib.events import emit_lifecycle_event
from layer_api.manager import build_manager, known_layers
from mlops_base.settings import REPO_ROOT, load_settings
from serving.main import create_app
from tests.support import toggle

LAYER = '''
from dagster import Definitions, asset
from fastapi import APIRouter

from layer_api import LayerInfo, hookimpl
from serving.api import Protocol

EVENTS = []


@asset(group_name="throwaway")
def throwaway_report():
    """What the throwaway layer computes."""
    return 42


class ThrowawayLayer:
    def __init__(self, settings):
        self.settings = settings

    @hookimpl
    def mlops_layer_info(self):
        return LayerInfo("throwaway", "a layer that exists for one test", "")

    @hookimpl
    def mlops_dagster_definitions(self):
        return Definitions(assets=[throwaway_report])

    @hookimpl
    def mlops_serving_protocols(self):
        router = APIRouter()

        @router.get("/throwaway")
        async def throwaway():
            return {"layer": "throwaway"}

        return [Protocol("throwaway", router)]

    @hookimpl
    def mlops_lifecycle_event(self, event):
        EVENTS.append((event, self.settings.model_name))
'''


def _install(site, monkeypatch) -> None:
    (site / "throwaway_layer.py").write_text(LAYER)
    dist = site / "throwaway_layer-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: throwaway-layer\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[mlops.layers]\nthrowaway = throwaway_layer:ThrowawayLayer\n")
    monkeypatch.syspath_prepend(str(site))


def test_a_layer_attaches_through_entry_points_and_detaches_without_a_core_change(tmp_path, monkeypatch):
    envs = tmp_path / "envs"
    shutil.copytree(REPO_ROOT / "envs", envs)
    monkeypatch.setenv("MLOPS_ENVS_DIR", str(envs))
    site = tmp_path / "site"
    site.mkdir()
    _install(site, monkeypatch)
    assert "throwaway" in known_layers()
    toggle(envs / "dev", "on", "throwaway")
    settings = load_settings("dev", model_name="throwaway-test", mlflow_tracking_uri="http://127.0.0.1:9")

    defs = build_definitions(settings)
    assert "throwaway_report" in {key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()}
    assert (
        defs.resolve_implicit_global_asset_job_def()
        .execute_in_process(asset_selection=[defs.resolve_assets_def("throwaway_report").key])
        .output_for_node("throwaway_report")
        == 42
    )
    assert TestClient(create_app(settings)).get("/throwaway").json() == {"layer": "throwaway"}
    emit_lifecycle_event("served", {"version": "1"}, build_manager(settings))
    assert sys.modules["throwaway_layer"].EVENTS == [("served", "throwaway-test")]

    monkeypatch.undo()  # uninstall: the dist-info leaves sys.path
    sys.modules.pop("throwaway_layer")
    monkeypatch.setenv("MLOPS_ENVS_DIR", str(envs))
    assert "throwaway" not in known_layers()
    gone = build_definitions(settings)  # layers.yaml still says on: an uninstalled layer is simply absent
    assert "throwaway_report" not in {key.to_user_string() for key in gone.resolve_asset_graph().get_all_asset_keys()}
    assert TestClient(create_app(settings)).get("/throwaway").status_code == 404
