"""The plain-Python request stats expose what prometheus_client's own Counter and Histogram would
for the same requests: the dashboards and alert rules read the same samples."""

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from optional_layers.monitoring.predict_stats import BUCKETS, PredictStats

ANSWERS = [
    ("200", "A", "3", 0.0004),
    ("200", "A", "3", 0.001),  # on a bound: counted in that bucket (le is inclusive)
    ("200", "B", "4", 0.0099),
    ("422", "none", "none", 0.0001),
    ("200", "A", "3", 7.0),  # above every bound: +Inf only
]


def _samples(registry: CollectorRegistry) -> set[tuple]:
    text = generate_latest(registry).decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items())), sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if not sample.name.endswith("_created")
    }


def test_the_exposition_is_prometheus_clients():
    ours = CollectorRegistry()
    stats = PredictStats()
    ours.register(stats)
    theirs = CollectorRegistry()
    requests = Counter("mlops_predict_requests", "r", ["variant", "version", "status"], registry=theirs)
    latency = Histogram("mlops_predict_latency_seconds", "l", ["variant"], registry=theirs, buckets=BUCKETS)
    for status, variant, version, seconds in ANSWERS:
        stats.record(status, variant, version, seconds)
        requests.labels(variant, version, status).inc()
        latency.labels(variant).observe(seconds)
    assert _samples(ours) == _samples(theirs)
