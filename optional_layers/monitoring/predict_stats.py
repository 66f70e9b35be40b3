"""Prediction requests counted and timed in plain Python, turned into Prometheus families when
/metrics is read.

prometheus_client's Counter and Histogram take a lock per update: ~2 us of a ~90 us one-row
request at 32 connections, most of the layer's cost. The middleware and /metrics both run on the
server's event loop, so plain integers need no lock; the exposition is the same families
(`mlops_predict_requests_total`, `mlops_predict_latency_seconds`) the dashboards and rules read.
"""

from __future__ import annotations

from bisect import bisect_left
from itertools import accumulate

from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily
from prometheus_client.utils import floatToGoString

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
LE = [*(floatToGoString(bound) for bound in BUCKETS), "+Inf"]


class PredictStats:
    def __init__(self) -> None:
        self.requests: dict[tuple[str, str, str], int] = {}  # (variant, version, status) -> count
        # variant -> count per bucket (the last: above every bound), then the sum of seconds
        self.latency: dict[str, list[float]] = {}

    def record(self, status: str, variant: str, version: str, seconds: float) -> None:
        key = (variant, version, status)
        self.requests[key] = self.requests.get(key, 0) + 1
        histogram = self.latency.get(variant)
        if histogram is None:
            histogram = self.latency[variant] = [0] * (len(BUCKETS) + 2)
        histogram[bisect_left(BUCKETS, seconds)] += 1  # le is inclusive: the first bound >= seconds
        histogram[-1] += seconds

    def collect(self):
        requests = CounterMetricFamily(
            "mlops_predict_requests", "Prediction requests", labels=["variant", "version", "status"]
        )
        for labels, count in sorted(self.requests.items()):
            requests.add_metric(list(labels), count)
        yield requests
        latency = HistogramMetricFamily("mlops_predict_latency_seconds", "Prediction latency", labels=["variant"])
        for variant, histogram in sorted(self.latency.items()):
            cumulative = accumulate(histogram[:-1])
            latency.add_metric([variant], list(zip(LE, cumulative, strict=True)), sum_value=histogram[-1])
        yield latency
