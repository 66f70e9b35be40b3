"""docs/reference/metrics.md: every metric the platform exposes, from the collectors themselves."""

from __future__ import annotations

from prometheus_client.metrics import MetricWrapperBase

from optional_layers.evaluation.metrics import HELP as EVALUATION_GAUGES
from optional_layers.manager import LayerManager, known_layers
from optional_layers.monitoring import plugin
from optional_layers.monitoring.pipeline_metrics import JOB, PipelineState


def _rows(families) -> list[str]:
    return [f"| `{f.name}` | {f.type} | {f.documentation} |" for f in families]


def _server_families():
    """The monitoring layer's own metrics (not its collector of other layers' values, which reads
    whatever servers were built in this process)."""
    collectors = [m for m in vars(plugin).values() if isinstance(m, MetricWrapperBase)] + [plugin.PREDICTS]
    return sorted((family for collector in collectors for family in collector.collect()), key=lambda f: f.name)


def page() -> str:
    layer_counters = sorted(LayerManager(set(known_layers())).metric_values())
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
        *_rows(_server_families()),
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
