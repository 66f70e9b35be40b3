"""The kinds of column a model takes, as training records them and the model server checks them."""

from __future__ import annotations

from typing import Literal

Kind = Literal["number", "string", "boolean"]
# MLflow signature column types -> kinds (integers are trained as float64: a missing value never
# changes a column's type)
SIGNATURE_KINDS: dict[str, Kind] = {
    "double": "number",
    "float": "number",
    "long": "number",
    "integer": "number",
    "string": "string",
    "boolean": "boolean",
}
