"""docs/reference/metrics.md: every metric the platform exposes, from the collectors themselves."""

from __future__ import annotations

from layer_api.manager import LayerManager, known_layers
from mlops_base.settings import load_settings
from optional_layers.evaluation.metrics import HELP as EVALUATION_GAUGES
from optional_layers.monitoring.pipeline_metrics import JOB, PipelineState
from optional_layers.monitoring.plugin import ServingMetrics


def _rows(families) -> list[str]:
    return [f"| `{f.name}` | {f.type} | {f.documentation} |" for f in families]


def page() -> str:
    layer_counters = sorted(LayerManager(load_settings("dev"), set(known_layers())).metric_values())
    lines = [
        "# Metrics",
        "",
        "Generated from the collectors by `python -m mlops_platform.reference`; a test fails when this page",
        "is stale. All come with the monitoring layer on. Counters are exposed with the `_total` suffix,",
        "histograms and summaries as `_bucket`/`_sum`/`_count`.",
        "",
        "## Model server: `GET /metrics` on each replica",
        "",
        "| metric | type | what |",
        "|---|---|---|",
        *_rows(sorted(ServingMetrics().registry.collect(), key=lambda f: f.name)),  # new: no layer's values yet
        *(f"| `{name.removesuffix('_total')}` | counter | kept by an optional layer |" for name in layer_counters),
        *(f"| `{name}` | gauge | {text} (evaluation layer) |" for name, text in EVALUATION_GAUGES.items()),
        "",
        f"## Release path: pushed to the Pushgateway by Dagster (job `{JOB}`, grouped by `env`)",
        "",
        "| metric | type | what |",
        "|---|---|---|",
        *_rows(PipelineState().collect()),
        "",
    ]
    return "\n".join(lines)
