"""What the model server leaves out of its process: called first, before anything imports pandas."""

from __future__ import annotations

import sys

from layer_api.state import read_state
from mlops_base.settings_concerns import current_env, resolve_env_dir


def import_pandas_without_pyarrow() -> bool:
    """pandas imports pyarrow whenever it is installed (~37 MB resident and ~40 ms of the start,
    measured) for dtypes and file formats the server never uses; a layer may need them (Feast's
    client does), so pyarrow stays out only of a server whose env has no optional layer on (the env
    resolved as `load_settings` does). pandas is imported while `None` stands for pyarrow in
    `sys.modules` (the import system's mark for a module that is not there), then the mark goes:
    code asking whether pyarrow is loaded hears no. True when it was left out."""
    if "pandas" in sys.modules or "pyarrow" in sys.modules:
        return False  # too late, or already wanted (a test process, another entry point)
    if read_state(resolve_env_dir(current_env())).active():
        return False
    sys.modules["pyarrow"] = None
    try:
        import pandas  # noqa: F401
    finally:
        del sys.modules["pyarrow"]
    return True
