"""Is the challenger breaching its SLO? Asked of Prometheus; no data is never a breach."""

from __future__ import annotations

from dataclasses import dataclass

import httpx


def window_seconds(window: str) -> int:
    """`5m` -> 300 (ROLLBACK_WINDOW's form: a number and s, m or h)."""
    return int(window[:-1]) * {"s": 1, "m": 60, "h": 3600}[window[-1]]


def error_ratio_query(alias: str, window: str) -> str:
    errors = f'sum(rate(mlops_predict_requests_total{{variant="{alias}",status=~"5.."}}[1m]))'
    total = f'sum(rate(mlops_predict_requests_total{{variant="{alias}"}}[1m]))'
    # min over the window: over the threshold the whole time, not for one spike
    return f"min_over_time((({errors} or vector(0)) / {total})[{window}:])"


def p99_query(alias: str, window: str) -> str:
    p99 = f'histogram_quantile(0.99, sum by (le) (rate(mlops_predict_latency_seconds_bucket{{variant="{alias}"}}[1m])))'
    return f"min_over_time(({p99})[{window}:])"


@dataclass(frozen=True)
class SloReading:
    error_ratio: float | None
    p99_seconds: float | None

    @property
    def has_data(self) -> bool:
        return self.error_ratio is not None or self.p99_seconds is not None

    def breaches(self, max_error_ratio: float, max_p99_seconds: float) -> list[str]:
        found = []
        if self.error_ratio is not None and self.error_ratio > max_error_ratio:
            found.append(f"error ratio {self.error_ratio:.3f} > {max_error_ratio}")
        if self.p99_seconds is not None and self.p99_seconds > max_p99_seconds:
            found.append(f"p99 {self.p99_seconds:.4f}s > {max_p99_seconds}s")
        return found


def _scalar(prometheus_url: str, query: str) -> float | None:
    response = httpx.get(f"{prometheus_url.rstrip('/')}/api/v1/query", params={"query": query}, timeout=10)
    response.raise_for_status()
    result = response.json()["data"]["result"]
    if not result:
        return None
    value = float(result[0]["value"][1])
    return None if value != value else value  # NaN (no traffic in the window) is no data


def read_slo(prometheus_url: str, alias: str, window: str) -> SloReading:
    return SloReading(
        error_ratio=_scalar(prometheus_url, error_ratio_query(alias, window)),
        p99_seconds=_scalar(prometheus_url, p99_query(alias, window)),
    )
