"""Column kinds of a training frame, and what changed since the registered model's schema.

Three kinds, as a model's signature carries them: `number` (integers become float64, so a missing
value never changes a column's type), `string` (categorical) and `boolean`; any may miss values.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlops_base.column_kinds import SIGNATURE_KINDS, Kind

if TYPE_CHECKING:
    import pandas as pd

# the training run's tag holding its feature columns' kinds (JSON): what later data must keep,
# readable from the registry's database without the artifact store
SCHEMA_TAG = "mlops.feature_schema"


def column_kind(column: pd.Series) -> Kind:
    """The column's kind; TypeError for dates, bytes and columns that mix kinds."""
    import pandas as pd

    if pd.api.types.is_bool_dtype(column):
        return "boolean"
    if pd.api.types.is_numeric_dtype(column):
        return "number"
    if column.dtype == object or isinstance(column.dtype, pd.CategoricalDtype | pd.StringDtype):
        types = {type(value).__name__ for value in column.dropna()}
        if types <= {"bool", "bool_"} and types:
            return "boolean"
        if types <= {"str"}:
            return "string"
        raise TypeError(f"mixes value types ({', '.join(sorted(types))}); one column holds one kind")
    raise TypeError(f"dtype {column.dtype} is not supported (numbers, strings or booleans)")


def normalise(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame as training and serving both see it: numbers float64, strings and booleans with
    missing values as objects holding NaN (what scikit-learn's imputers and encoders expect)."""
    import numpy as np
    import pandas as pd

    columns = {}
    for name in frame.columns:
        column = frame[name]
        kind = column_kind(column)
        if kind == "number":
            columns[name] = column.astype(np.float64)
        elif kind == "boolean" and not column.isna().any():
            columns[name] = column.astype(bool)
        else:
            columns[name] = column.astype(object).where(column.notna(), np.nan)
    return pd.DataFrame(columns, index=frame.index)


def signature_kinds(signature) -> dict[str, Kind]:
    """Column kinds from an MLflow model signature's inputs (ColSpec names and types)."""
    return {spec.name: SIGNATURE_KINDS.get(spec.type.name, spec.type.name) for spec in signature.inputs.inputs}


def schema_differences(registered: dict[str, str], current: dict[str, str]) -> list[str]:
    """Every column the current data dropped, added or changed the kind of."""
    differences = [f"column {name!r} ({kind}) is missing" for name, kind in registered.items() if name not in current]
    differences += [f"column {name!r} ({kind}) is new" for name, kind in current.items() if name not in registered]
    differences += [
        f"column {name!r} was {registered[name]}, is now {kind}"
        for name, kind in current.items()
        if name in registered and registered[name] != kind
    ]
    return differences
