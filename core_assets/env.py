"""The settings this code location was loaded with (the env is decided once, here)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from mlops_platform.settings import load_settings

SETTINGS = load_settings()

TRAINING_CODE = Path(__file__).parent / "lib" / "training.py"


def training_code_version() -> str:
    """Changes when the training code or the env's training parameters change."""
    digest = hashlib.sha256(TRAINING_CODE.read_bytes())
    digest.update(json.dumps([SETTINGS.estimator, SETTINGS.estimator_params], sort_keys=True).encode())
    return digest.hexdigest()[:12]
