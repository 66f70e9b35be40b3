"""`mlops traffic` against a real model server: the observed split matches the configured one."""

from __future__ import annotations

from mlops_platform import processes
from mlops_platform.traffic import report
from tests.support import start_server


def test_traffic_report_shows_the_canary_split(mlflow_server, shared_model, tmp_path):
    service = start_server(
        tmp_path,
        {
            "MLFLOW_TRACKING_URI": mlflow_server,
            "MODEL_NAME": shared_model.name,
            "ALIAS_SELECTION_MODE": "canary",
            "CANARY_PERCENT": "30",
        },
    )
    try:
        # fixed client ids: the split is then the same every run (random ones miss the 99% interval 1 run in 100)
        text = report(service.url, n=1000, client_prefix="traffic-test")
    finally:
        processes.stop(service)
    print(text)
    lines = text.splitlines()
    assert "mode canary" in lines[0] and "statuses {200: 1000}" in lines[0]
    a_line = next(line for line in lines if line.startswith("A (v"))
    b_line = next(line for line in lines if line.startswith("B (v"))
    assert "70%" in a_line and "30%" in b_line
    assert a_line.endswith(" ok") and b_line.endswith(" ok")
