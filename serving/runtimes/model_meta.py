"""What a logged model's MLmodel file says about serving it: its flavour, columns and example."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from mlflow.models import Model

from serving.columns import Column, columns_of, frame_of
from serving.runtimes.base import ModelLoadError


def flavour_of(meta: Model) -> str:
    """The library flavour a model was logged with (`sklearn`, `lightgbm`, ...)."""
    return next((name for name in meta.flavors if name != "python_function"), "python_function")


def signature_inputs(meta: Model, local: Path, label: str) -> tuple[list[Column], pd.DataFrame]:
    """The model's columns and its input example as requests will send it."""
    example = meta.load_input_example(str(local))
    if meta.signature is None or example is None:
        raise ModelLoadError(f"{label} has no signature or input example")
    try:
        columns = columns_of(meta.signature)
        return columns, frame_of(columns, pd.DataFrame(example))
    except (ValueError, KeyError) as exc:
        raise ModelLoadError(f"{label}: cannot take its signature's inputs: {exc}") from exc
