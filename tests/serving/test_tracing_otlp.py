"""Tracing over real OTLP/HTTP: a real uvicorn model server and an in-process Dagster release run,
both exporting to an OTLP receiver on loopback (a real HTTP server parsing what it gets with
OpenTelemetry's own protobuf classes). The release run's `served_alias` span is the parent of the server's reload,
whose load, smoke test and swap spans arrive under the same trace id."""

from __future__ import annotations

import httpx
import pytest
from dagster import DagsterInstance

from core_assets.definitions import build_definitions
from mlops_base import tracing
from mlops_platform import processes
from mlops_platform.release_watch import wait_for
from mlops_platform.stack import dagster_home
from tests.core_assets.runs import run_job
from tests.otlp_receiver import OtlpReceiver
from tests.support import ROW, register_model, start_server, wired_to

pytestmark = pytest.mark.real


def _received(receiver: OtlpReceiver) -> list[tuple[str, str, str, str]]:
    """Every span received: service, name, trace id, parent span id."""
    return [
        (resource["service.name"], span.name, span.trace_id.hex(), span.parent_span_id.hex())
        for resource, span in receiver.spans()
    ]


def test_a_release_run_and_the_servers_reload_share_one_trace_over_otlp(settings, mlflow_server, tmp_path):
    # A on v1, B on v3: the release moves B to v2, which no alias serves yet (so the server loads it)
    fresh_model = register_model(mlflow_server, 3)
    receiver = OtlpReceiver()
    server = start_server(
        tmp_path,
        {
            "MLFLOW_TRACKING_URI": settings.mlflow_tracking_uri,
            "MODEL_NAME": fresh_model.name,
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url,
            "TRACING_SAMPLE_RATIO": "1",  # the one request below is traced
        },
    )
    try:
        settings = wired_to(
            settings.model_copy(update={"model_name": fresh_model.name, "otel_exporter_otlp_endpoint": receiver.url}),
            server.url,
        )
        defs = build_definitions(settings)  # configures this process's tracing, as a run's process does
        with DagsterInstance.from_config(str(dagster_home(settings))) as instance:
            release = {"ops": {"served_alias": {"config": {"version": fresh_model.versions[1]}}}}
            assert run_job(defs, instance, "deploy_job", release).success
        assert httpx.post(f"{server.url}/predict", json={"data": [ROW]}).status_code == 200
        tracing.provider.force_flush()

        def names(service: str, trace: str | None = None) -> set[str]:
            return {n for svc, n, t, _ in _received(receiver) if svc == service and trace in (None, t)}

        def run_traces() -> set[str]:
            return {t for svc, n, t, _ in _received(receiver) if (svc, n) == ("mlops-dagster", "served_alias")}

        released = {"POST /variant/{alias}/reload", "load", "smoke_test", "swap"}
        # the request spans and the SDK's leave the server by two exporters: wait for what is asserted
        wait_for(
            "the server's spans of the release and of the request",
            lambda: (
                "POST /predict" in names("mlops-serving")
                and any(released <= names("mlops-serving", trace) for trace in run_traces())
            ),
            30,
        )
        [run_trace] = run_traces()
        in_run = names("mlops-serving", run_trace)
        assert "POST /predict" not in in_run
    finally:
        tracing.reset()
        processes.stop(server)
        receiver.close()
