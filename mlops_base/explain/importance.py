"""A version's global importance: the mean absolute attribution of each input column over the test
split (summed over the outputs), and each column's share of the total. Computed at training, logged
with the run (`IMPORTANCE_ARTIFACT`), shown on `trained_model`'s page.

Exact methods explain up to EXACT_ROWS test rows; a model explained by Shapley sampling only
SAMPLED_ROWS of them against SAMPLED_BACKGROUND background rows, so that a training run stays
seconds long (it is on the way from a commit to a served model)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from mlops_base.explain.explainers import explain, is_exact
from mlops_base.model_card import IMPORTANCE_ARTIFACT  # noqa: F401 - where the run keeps it

EXACT_ROWS = 1_000
SAMPLED_ROWS = 20
SAMPLED_BACKGROUND = 20
BAR_WIDTH = 30


def global_importance(model, x_test: pd.DataFrame, background: pd.DataFrame) -> dict[str, Any]:
    """{method, output, rows, importance: column -> mean |phi|, share: column -> its share}."""
    if is_exact(model, [str(c) for c in x_test.columns]):
        rows = x_test.head(EXACT_ROWS)
        explanation = explain(model, rows, background)
    else:
        rows = x_test.sample(min(SAMPLED_ROWS, len(x_test)), random_state=0)
        small = background.sample(min(SAMPLED_BACKGROUND, len(background)), random_state=0)
        explanation = explain(model, rows, small)
    magnitude = abs(explanation.phi).sum(axis=2).mean(axis=0)
    total = float(magnitude.sum()) or 1.0
    return {
        "method": explanation.method,
        "output": explanation.kind,
        "rows": len(rows),
        "importance": {c: float(m) for c, m in zip(explanation.columns, magnitude, strict=True)},
        "share": {c: float(m) / total for c, m in zip(explanation.columns, magnitude, strict=True)},
    }


def importance_markdown(found: dict[str, Any]) -> str:
    """The importance as a bar chart in Markdown, largest first."""
    shares = sorted(found["share"].items(), key=lambda item: -item[1])
    lines = [
        f"Mean |attribution| over {found['rows']} test rows ({found['method']}, in {found['output']} units).",
        "",
        "| column | share | |",
        "|---|---:|---|",
    ]
    lines += [f"| {column} | {share:.1%} | {'█' * round(share * BAR_WIDTH)} |" for column, share in shares]
    return "\n".join(lines)
