"""An explanation (`mlops_base.explain`) as the server answers it: on /explain, and on /predict
with "explain": true."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlops_base.explain.explainers import Explanation


def explanation_fields(explanation: Explanation) -> dict[str, Any]:
    values = explanation.output()
    rows = [
        {
            "attributions": {column: explanation.phi[r, j].tolist() for j, column in enumerate(explanation.columns)},
            "output_value": values[r].tolist(),
        }
        for r in range(len(values))
    ]
    return {
        "output": explanation.kind,
        "method": explanation.method,
        "outputs": explanation.outputs,
        "base_value": explanation.base.tolist(),
        "explanations": rows,
    }
