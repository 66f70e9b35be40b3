"""docs/reference/http.md: every route of the model server, from its OpenAPI (every layer on)."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile

from layer_api.manager import LayerManager, known_layers
from mlops_base.settings import REPO_ROOT, load_settings


def openapi() -> dict:
    """The model server's OpenAPI with every layer on, built in a process of its own: building a
    server starts what its layers run beside it (e.g. the evaluation layer's prediction-log writer)."""
    script = "import json, mlops_platform.reference.http_page as p; print(json.dumps(p.built_openapi()))"
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def built_openapi() -> dict:
    from serving.main import create_app  # FastAPI and the serving stack: only when this page is built

    with tempfile.TemporaryDirectory() as state_dir:  # the layers' state (e.g. the outcome store) is thrown away
        settings = load_settings("dev", mlops_state_dir=state_dir)
        return create_app(settings, LayerManager(settings, set(known_layers()))).openapi()


def page() -> str:
    spec = openapi()
    lines = [
        "# HTTP API of the model server",
        "",
        "Generated from the model server's OpenAPI (with every layer on) by `python -m mlops_platform.reference`;",
        "a test fails when this page is stale. A running server serves the same document at `/openapi.json`",
        "and interactive docs at `/docs`. Routes a layer adds are marked with its tag.",
        "",
        "| method | path | what | statuses | tags |",
        "|---|---|---|---|---|",
    ]
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            summary = (operation.get("description") or operation.get("summary", "")).strip().split("\n\n")[0]
            summary = " ".join(summary.split())
            summary = summary.replace("|", "\\|")
            statuses = ", ".join(sorted(operation.get("responses", {})))
            tags = ", ".join(operation.get("tags", []))
            lines.append(f"| {method.upper()} | `{path}` | {summary} | {statuses} | {tags} |")
    lines += [
        "",
        "Outside the OpenAPI: `GET /metrics` (Prometheus text, the monitoring layer; see [metrics](metrics.md)).",
        "",
    ]
    return "\n".join(lines)
