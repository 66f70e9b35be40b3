"""The monitoring layer on the model server: /metrics when on, 404 and no prometheus_client when off."""

from __future__ import annotations

from layer_api.manager import LayerManager
from serving.main import create_app
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
    assert 'mlops_predict_requests_total{status="422",variant="none",version="none"}' in text
    assert 'mlops_predict_requests_total{status="400",variant="none",version="none"}' in text
    assert 'mlops_predict_requests_total{status="415",variant="none",version="none"}' in text
    assert 'mlops_predict_latency_seconds_bucket{le="0.005",variant="A"}' in text
    assert "mlops_predict_in_flight 0.0" in text
    assert 'mlops_reloads_total{alias="A",outcome="ok"}' in text
    assert 'mlops_model_loaded{alias="B"} 1.0' in text
    assert "mlops_pipeline_events" not in text  # release metrics travel through the Pushgateway


def test_metrics_route_is_absent_when_the_layer_is_off(mlflow_server, shared_model):
    with serving_client(
        create_app(settings := serving_settings(mlflow_server, shared_model), LayerManager(settings, set()))
    ) as client:
        assert client.get("/metrics").status_code == 404
