"""Adding a layer touches nothing in the core, and the guide says how: the example layer of
docs/guides/writing-a-layer.md, exactly as written there, installed through the entry-point
machinery (a dist-info on sys.path), contributes an asset, a route, a prediction recorder, an
event subscriber and its settings to the reference; once uninstalled, it is gone."""

from __future__ import annotations

import re
import shutil
import sys

from fastapi.testclient import TestClient

from core_assets.definitions import build_definitions
from core_assets.lib.events import emit_lifecycle_event
from layer_api.manager import build_manager, known_layers
from mlops_base.settings import REPO_ROOT
from mlops_platform.reference.settings_page import sections
from serving.main import create_app
from tests.fakes import FakeRegistry, fake_settings
from tests.support import ROW, serving_client, toggle

GUIDE = REPO_ROOT / "docs" / "guides" / "writing-a-layer.md"


def _guide_layer() -> str:
    """The guide's example module: its first Python block."""
    return re.search(r"```python\n(.*?)```", GUIDE.read_text(), re.DOTALL).group(1)


def _install(site, monkeypatch) -> None:
    (site / "my_layer.py").write_text(_guide_layer())
    dist = site / "my_layer-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: my-layer\nVersion: 0.1\n")
    entry_point = re.search(r'^\s*counts = "my_package\.my_layer:(\w+)"$', GUIDE.read_text(), re.MULTILINE).group(1)
    (dist / "entry_points.txt").write_text(f"[mlops.layers]\ncounts = my_layer:{entry_point}\n")
    monkeypatch.syspath_prepend(str(site))


def test_the_guides_layer_attaches_through_entry_points_and_detaches_without_a_core_change(tmp_path, monkeypatch):
    envs = tmp_path / "envs"
    shutil.copytree(REPO_ROOT / "envs", envs)
    monkeypatch.setenv("MLOPS_ENVS_DIR", str(envs))
    site = tmp_path / "site"
    site.mkdir()
    _install(site, monkeypatch)
    assert "counts" in known_layers()
    toggle(envs / "dev", "on", "counts")
    settings = fake_settings(model_name="throwaway-test", mlops_state_dir=tmp_path / "state")

    defs = build_definitions(settings)
    assert "counts_report" in {key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()}
    job = defs.resolve_implicit_global_asset_job_def()
    assert (
        job.execute_in_process(asset_selection=[defs.resolve_assets_def("counts_report").key]).output_for_node(
            "counts_report"
        )
        == 42
    )

    registry = FakeRegistry(model_name="throwaway-test")
    with serving_client(create_app(settings, build_manager(settings), registry, registry.new_runtime)) as client:
        assert client.post("/variant/A/predict", json={"data": [ROW, ROW]}).status_code == 200
        assert client.get("/counts").json() == {"A": 2}
        assert "/counts" in client.get("/openapi.json").json()["paths"]
    emit_lifecycle_event("served", {"version": "1"}, build_manager(settings))
    assert sys.modules["my_layer"].SERVED == [("1", "throwaway-test")]
    assert ("Layer: counts", sys.modules["my_layer"].CountsSettings) in sections()

    monkeypatch.undo()  # uninstall: the dist-info leaves sys.path
    sys.modules.pop("my_layer")
    monkeypatch.setenv("MLOPS_ENVS_DIR", str(envs))
    assert "counts" not in known_layers()
    gone = build_definitions(settings)  # layers.yaml still says on: an uninstalled layer is simply absent
    assert "counts_report" not in {key.to_user_string() for key in gone.resolve_asset_graph().get_all_asset_keys()}
    assert TestClient(create_app(settings)).get("/counts").status_code == 404
