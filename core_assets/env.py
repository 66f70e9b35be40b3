"""The settings this code location was loaded with (the env is decided once, here)."""

from __future__ import annotations

import hashlib
import inspect
import json

from core_assets.lib import training
from mlops_platform.settings import load_settings

SETTINGS = load_settings()


def training_code_version() -> str:
    """Changes when the training code or the env's training parameters change."""
    digest = hashlib.sha256(inspect.getsource(training).encode())
    digest.update(json.dumps([SETTINGS.estimator, SETTINGS.estimator_params], sort_keys=True).encode())
    return digest.hexdigest()[:12]
