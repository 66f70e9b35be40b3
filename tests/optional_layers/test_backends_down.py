"""The optional layers' backends down while the core works: with monitoring and logging on and the
Pushgateway, Loki and Prometheus all unreachable, the model server starts and answers, a release
moves the alias and hot-swaps the server, and each failure shows (the layer's log names the gateway,
/metrics counts the pushes Loki did not take, the SLO sensor says why it cannot judge).
Redis down: tests/optional_layers/feast/test_pipeline.py; Triton down: tests/serving/runtimes/test_triton.py."""

from __future__ import annotations

import shutil

import httpx
from dagster import DagsterInstance, build_sensor_context

from core_assets.definitions import build_definitions
from mlops_base.settings import REPO_ROOT
from mlops_platform import processes
from mlops_platform.release_watch import served_version, wait_for
from optional_layers.monitoring.definitions import SloSettings, slo_rollback_sensor
from tests.core_assets.runs import register, run_job
from tests.support import ROW, TOKEN, start_server, toggle


def test_the_core_serves_and_releases_while_pushgateway_loki_and_prometheus_are_down(
    settings, tmp_path, caplog, monkeypatch
):
    instance = DagsterInstance.ephemeral()
    envs = tmp_path / "envs"
    shutil.copytree(REPO_ROOT / "envs" / "dev", envs / "dev")
    for layer in ("monitoring", "logging"):
        toggle(envs / "dev", "on", layer)
    dead = {name: f"http://127.0.0.1:{processes.free_port()}" for name in ("pushgateway", "loki", "prometheus")}
    for name, url in dead.items():  # the layers' own settings
        monkeypatch.setenv(f"{name.upper()}_URL", url)
    settings = settings.model_copy(update={"mlops_envs_dir": envs, "reload_secret_token": TOKEN})
    assert register(build_definitions(settings), instance).success  # v1

    server = start_server(
        tmp_path,
        {
            "MLOPS_ENVS_DIR": str(envs),
            "MLFLOW_TRACKING_URI": settings.mlflow_tracking_uri,
            "MODEL_NAME": settings.model_name,
            "LOKI_URL": dead["loki"],
        },
    )
    try:
        defs = build_definitions(settings.model_copy(update={"serving_url": server.url}))
        released = run_job(defs, instance, "deploy_job")
        assert released.success
        assert served_version(server.url, "B") == "1"
        assert (
            httpx.post(f"{server.url}/predict", json={"data": [ROW]}, headers={"x-client-id": "c"}).status_code == 200
        )
        assert httpx.get(f"{server.url}/health").status_code == 200

        assert f"release event served not pushed to {dead['pushgateway']}" in caplog.text

        def failed_pushes() -> float:
            metrics = httpx.get(f"{server.url}/metrics").text
            return float(
                next(m for m in metrics.splitlines() if m.startswith("mlops_log_pushes_failed_total")).split()[-1]
            )

        wait_for("the failed pushes to Loki counted", lambda: failed_pushes() > 0, timeout_s=30)

        slo = SloSettings(prometheus_url=dead["prometheus"], max_error_ratio=0.05, max_p99_seconds=0.5, window="1m")
        with build_sensor_context(
            instance=instance, resources={"slo": slo, "registry": defs.resources["registry"]}
        ) as ctx:
            skipped = slo_rollback_sensor(ctx)
        assert f"Prometheus at {dead['prometheus']} cannot answer" in skipped.skip_message
    finally:
        processes.stop(server)
