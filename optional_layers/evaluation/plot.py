"""The challenger-minus-champion difference over time with its always-valid interval, as a PNG
embedded in Markdown (Dagster shows it in the asset's metadata)."""

from __future__ import annotations

import base64
import io
from datetime import UTC, datetime
from typing import Any


def difference_plot(judged: dict[str, Any]) -> str:
    points = [p for p in judged.get("history", []) if p["interval"][0] is not None]
    if not points:
        return "No interval yet: each side needs its minimum number of outcomes."
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    times = [datetime.fromtimestamp(p["time"], UTC) for p in points]
    figure, axes = plt.subplots(figsize=(7, 3.2), dpi=90)
    axes.fill_between(
        times,
        [p["interval"][0] for p in points],
        [p["interval"][1] for p in points],
        alpha=0.25,
        label=f"always-valid {1 - judged['test']['alpha']:.0%} interval",
    )
    axes.plot(times, [p["difference"] for p in points], label="difference")
    axes.axhline(0.0, color="black", linewidth=0.8)
    axes.set_ylabel(f"challenger - champion ({judged['metric']})")
    axes.legend(loc="best", fontsize=8)
    figure.autofmt_xdate()
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return f"![difference over time](data:image/png;base64,{base64.b64encode(buffer.getvalue()).decode()})"
