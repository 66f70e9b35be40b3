"""The serving suite as a picture: throughput at 32 connections and p50 at one connection against
rows per request, one line per target (bench/results/serving.png)."""

from __future__ import annotations

from pathlib import Path

from bench.report_serving import SERVING_ORDER


def _series(scenarios: dict, conns: int, field: str) -> tuple[list[int], list[float]]:
    points = sorted(
        (int(key.split("x")[0]), values[field]) for key, values in scenarios.items() if key.endswith(f"x{conns}")
    )
    return [rows for rows, _ in points], [value for _, value in points]


def draw(serving: dict, path: Path) -> Path | None:
    """The figure of a serving run with at least two batch sizes; None when it has fewer."""
    targets = serving["targets"]
    if len({key.split("x")[0] for key in serving["scenarios"]}) < 2:
        return None
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    figure, (throughput, latency) = plt.subplots(1, 2, figsize=(13, 5.5))
    colours = plt.get_cmap("tab20").colors
    for i, key in enumerate(k for k in SERVING_ORDER if k in targets):
        label = targets[key]["label"].replace("**", "").replace("`", "")
        style = {
            "color": colours[i % len(colours)],
            "linewidth": 2.8 if key == "ours" else 1.3,
            "linestyle": "-" if key.startswith("ours") else "--",  # this server solid, the others dashed
            "marker": "o",
            "label": label,
        }
        throughput.plot(*_series(targets[key]["scenarios"], 32, "rps"), **style)
        latency.plot(*_series(targets[key]["scenarios"], 1, "p50_ms"), **style)
    for axes, title, unit in (
        (throughput, "Throughput, 32 connections", "requests/s"),
        (latency, "Latency p50, 1 connection", "ms"),
    ):
        axes.set(xscale="log", yscale="log", title=title, xlabel="rows per request", ylabel=unit)
        axes.grid(True, which="both", alpha=0.3)
    throughput.legend(fontsize=7, loc="lower left")
    figure.suptitle(f"Serving, one core per server (run {serving.get('when', '')[:16]})")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
