"""The monitoring layer on the model server: /metrics when on, 404 and no prometheus_client when off."""

from __future__ import annotations

import json
import time

import numpy as np

from layer_api.manager import LayerManager
from mlops_base.ramp import DECISION_TAG, RAMP_TAG, RampState
from serving.hot_path import ModelServerApp
from serving.main import create_app
from tests.fakes import FakeRegistry, SumModel, fake_server
from tests.support import ROW, TOKEN, serving_client, serving_settings


def test_metrics_count_requests_by_variant_version_and_status(mlflow_server, shared_model):
    app = create_app(settings := serving_settings(mlflow_server, shared_model), LayerManager(settings, {"monitoring"}))
    with serving_client(app) as client:
        for i in range(20):
            client.post("/predict", json={"data": [ROW]}, headers={"x-client-id": f"m{i}"})
        client.post("/variant/B/predict", json={"data": [[1.0]]})
        # every protocol's prediction routes are counted: v2 answers bad input 400, /invocations a text body 415
        client.post(f"/v2/models/{shared_model.name}/versions/B/infer", json={"inputs": []})
        client.post("/invocations", content="1,2", headers={"content-type": "text/plain"})
        client.post("/variant/A/reload", headers={"x-token": TOKEN})
        text = client.get("/metrics").text

    version_a = shared_model.versions[0]
    assert f'mlops_predict_requests_total{{status="200",variant="A",version="{version_a}"}}' in text
    version_b = shared_model.versions[1]
    # a bad body fails where it failed: on B (wrong width for its model) or before any variant was chosen
    assert f'mlops_predict_requests_total{{status="422",variant="B",version="{version_b}"}}' in text
    assert 'mlops_predict_requests_total{status="400",variant="none",version="none"}' in text
    assert 'mlops_predict_requests_total{status="415",variant="none",version="none"}' in text
    assert 'mlops_predict_latency_seconds_bucket{le="0.005",variant="A"}' in text
    assert "mlops_predict_in_flight 0.0" in text
    assert 'mlops_reloads_total{alias="A",outcome="ok"}' in text
    assert 'mlops_model_loaded{alias="B"} 1.0' in text
    assert "mlops_pipeline_events" not in text  # release metrics travel through the Pushgateway


class FailsOnTraffic(SumModel):
    """Passes its smoke test (rows of ones) and fails on rows of real traffic (a bug in the model)."""

    def predict(self, rows: np.ndarray) -> np.ndarray:
        if rows.max() > 1:
            raise IndexError("index 2 is out of bounds for axis 0 with size 2")
        return super().predict(rows)


def test_a_failing_challenger_is_counted_as_its_own_errors(tmp_path):
    registry = FakeRegistry()
    registry.kinds["2"] = FailsOnTraffic
    with fake_server(registry, layers={"monitoring"}, mlops_state_dir=tmp_path, ab_test_percent=50) as (client, _):
        answers = [
            client.post("/predict", json={"data": [[5.1, 3.5, 1.4, 0.2]]}, headers={"x-client-id": f"c{i}"})
            for i in range(40)
        ]
        text = client.get("/metrics").text
    failed = sum(a.status_code == 500 for a in answers)
    assert 0 < failed < 40 and all(a.status_code in (200, 500) for a in answers)
    assert f'mlops_predict_requests_total{{status="500",variant="B",version="2"}} {float(failed)}' in text
    assert 'variant="none"' not in text


def test_explanations_are_not_counted_as_predictions_on_either_path(tmp_path, monkeypatch):
    """The SLO rollback and the ramp read these counts: an explanation (answered on the hot path
    too) is no prediction, whatever it answers."""
    for direct in (True, False):
        monkeypatch.setattr(ModelServerApp, "direct", direct)
        with fake_server(layers={"monitoring"}, mlops_state_dir=tmp_path / str(direct)) as (client, _):
            for _ in range(3):
                client.post("/predict", json={"data": [ROW]})
            explained = [client.post(path, json={"data": [ROW]}) for path in ("/explain", "/variant/B/explain")]
            text = client.get("/metrics").text
        assert all(answer.status_code in (200, 422) for answer in explained), explained
        counted = [line for line in text.splitlines() if line.startswith("mlops_predict_requests_total{")]
        assert sum(float(line.rsplit(" ", 1)[1]) for line in counted) == 3, counted


def test_metrics_route_is_absent_when_the_layer_is_off(mlflow_server, shared_model):
    with serving_client(
        create_app(settings := serving_settings(mlflow_server, shared_model), LayerManager(settings, set()))
    ) as client:
        assert client.get("/metrics").status_code == 404


def test_a_ramp_s_share_step_and_guardrail_intervals_are_gauges(tmp_path):
    registry = FakeRegistry()
    registry.tags[RAMP_TAG] = RampState("2", "1", 1, 1.7e9, 1.7e9).to_tag()
    reading = {"guardrail": "errors", "verdict": "not yet known", "worse_by": [-0.01, 0.02], "margin": 0.005}
    decision = {
        "action": "hold",
        "challenger": "2",
        "champion": "1",
        "step": 1,
        "at": 1.7e9,
        "reason": "...",
        "readings": [reading],
    }
    registry.tags[DECISION_TAG] = json.dumps(decision)
    settings = {"mlops_state_dir": tmp_path, "alias_selection_mode": "ramp", "alias_poll_seconds": 0.05}
    with fake_server(registry, layers={"monitoring"}, **settings) as (client, _):
        deadline = time.monotonic() + 5
        while "mlops_ramp_worse_by_high{" not in (text := client.get("/metrics").text) and time.monotonic() < deadline:
            time.sleep(0.05)
    assert "mlops_ramp_share_percent 5.0" in text and "mlops_ramp_step 1.0" in text
    assert 'mlops_ramp_worse_by_high{challenger_version="2",guardrail="errors"} 0.02' in text
    assert 'mlops_ramp_worse_by_low{challenger_version="2",guardrail="errors"} -0.01' in text


def test_outside_ramp_mode_there_are_no_ramp_gauges(tmp_path):
    with fake_server(FakeRegistry(), layers={"monitoring"}, mlops_state_dir=tmp_path) as (client, _):
        assert "mlops_ramp" not in client.get("/metrics").text
