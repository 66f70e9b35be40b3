"""What a logged model's MLmodel file says about serving it (its flavour, columns and example), read
without importing MLflow."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from serving.columns import Column, columns_of, frame_of
from serving.runtimes.base import ModelLoadError

MLModel = dict[str, Any]
"""The MLmodel file of a logged model, as YAML reads it."""


def read_mlmodel(local: Path) -> MLModel:
    document = yaml.safe_load((local / "MLmodel").read_text())
    if not isinstance(document, dict) or not isinstance(document.get("flavors"), dict):
        raise ValueError("MLmodel names no flavors")
    return document


def flavour_of(meta: MLModel) -> str:
    """The library flavour a model was logged with (`sklearn`, `lightgbm`, ...)."""
    return next((name for name in meta["flavors"] if name != "python_function"), "python_function")


def _input_example(meta: MLModel, local: Path) -> pd.DataFrame | None:
    info = meta.get("saved_input_example_info")
    if not info:
        return None
    example = json.loads((local / info["artifact_path"]).read_text())
    if isinstance(example, dict) and "columns" in example and "data" in example:  # pandas "split" orient
        return pd.DataFrame(example["data"], columns=example["columns"])
    return pd.DataFrame(example)


def signature_inputs(meta: MLModel, local: Path, label: str) -> tuple[list[Column], pd.DataFrame]:
    """The model's columns and its input example as requests will send it."""
    signature = meta.get("signature") or {}
    example = _input_example(meta, local)
    if not signature.get("inputs") or example is None:
        raise ModelLoadError(f"{label} has no signature or input example")
    try:
        columns = columns_of(json.loads(signature["inputs"]))
        return columns, frame_of(columns, example)
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelLoadError(f"{label}: cannot take its signature's inputs: {exc}") from exc
