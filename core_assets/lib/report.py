"""What a run shows about its test split, in MLflow and on the asset's page in the Dagster UI:
a confusion matrix and per-class metrics (classification), or residuals, predicted vs actual and
per-bucket errors (regression)."""

from __future__ import annotations

import base64
import io
from typing import TYPE_CHECKING

from mlops_base.settings import Task

if TYPE_CHECKING:
    import pandas as pd


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # headless: figures are rendered to files
    import matplotlib.pyplot as plt

    return plt


def _confusion(y_true, y_pred):
    from sklearn.metrics import ConfusionMatrixDisplay, confusion_matrix

    labels = sorted(set(y_true) | set(y_pred), key=str)
    fig, ax = _pyplot().subplots(figsize=(4, 4))
    ConfusionMatrixDisplay(confusion_matrix(y_true, y_pred, labels=labels), display_labels=labels).plot(
        ax=ax, colorbar=False
    )
    ax.set_title("confusion matrix (test split)")
    fig.tight_layout()
    return fig


def _scatter(x, y, title: str, xlabel: str, ylabel: str, diagonal: bool):
    import numpy as np

    fig, ax = _pyplot().subplots(figsize=(4, 4))
    ax.scatter(x, y, s=10, alpha=0.6)
    if diagonal:
        low, high = float(min(np.min(x), np.min(y))), float(max(np.max(x), np.max(y)))
        ax.plot([low, high], [low, high], color="grey", linewidth=1)
    else:
        ax.axhline(0, color="grey", linewidth=1)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    fig.tight_layout()
    return fig


def test_split_figures(task: Task, y_true, y_pred) -> dict:
    """Figures by artifact name (without `.png`)."""
    import numpy as np

    if task == "classification":
        return {"confusion_matrix": _confusion(y_true, y_pred)}
    y_true = np.asarray(y_true, dtype=float)
    return {
        "predicted_vs_actual": _scatter(
            y_true, y_pred, "predicted vs actual (test split)", "actual", "predicted", True
        ),
        "residuals": _scatter(
            y_pred, y_true - y_pred, "residuals (test split)", "predicted", "actual - predicted", False
        ),
    }


def _png(fig) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=72)
    return base64.b64encode(buffer.getvalue()).decode()


def metrics_table(task: Task, y_true, y_pred) -> pd.DataFrame:
    """Per class (precision, recall, f1, support), or per quartile of the actual value (rows, MAE, bias)."""
    import numpy as np
    import pandas as pd

    if task == "classification":
        from sklearn.metrics import classification_report

        report = classification_report(y_true, y_pred, output_dict=True, zero_division=0)
        rows = {label: values for label, values in report.items() if isinstance(values, dict)}
        return pd.DataFrame(rows).T.rename_axis("class").round(3)
    frame = pd.DataFrame({"actual": np.asarray(y_true, dtype=float), "predicted": np.asarray(y_pred, dtype=float)})
    frame["bucket"] = pd.qcut(frame["actual"], q=min(4, frame["actual"].nunique()), duplicates="drop")
    grouped = frame.groupby("bucket", observed=True)
    table = pd.DataFrame(
        {
            "rows": grouped.size().astype(int),
            "mae": grouped.apply(lambda g: (g["actual"] - g["predicted"]).abs().mean(), include_groups=False),
            "bias": grouped.apply(lambda g: (g["predicted"] - g["actual"]).mean(), include_groups=False),
        }
    )
    table.index = table.index.astype(str)
    return table.rename_axis("actual value").round(3)


def _markdown_table(table: pd.DataFrame) -> str:
    header = [table.index.name or "", *map(str, table.columns)]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(map(str, row)) + " |" for row in table.itertuples()]
    return "\n".join(lines)


def report_markdown(task: Task, y_true, y_pred, figures: dict) -> str:
    """The table and the figures (inline PNGs, so the Dagster UI shows them without MLflow)."""
    images = "\n\n".join(f"![{name}](data:image/png;base64,{_png(fig)})" for name, fig in figures.items())
    return f"{_markdown_table(metrics_table(task, y_true, y_pred))}\n\n{images}\n"
