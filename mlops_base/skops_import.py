"""skops, imported lean: shared by the model server (loading) and the training runs (saving)."""

from __future__ import annotations

import gc
import threading
from types import ModuleType

_skops_lock = threading.Lock()
_skops: ModuleType | None = None


def skops_io() -> ModuleType:
    """`skops.io`, imported without its list of every scikit-learn estimator.

        skops builds its default trusted types at import with `sklearn.utils.all_estimators()`, which
        imports every estimator module of scikit-learn (and, through its testing helpers, pytest when
        installed): ~1.2 s and ~25 MB of the model server's memory (measured). The server never relies
        on that list: every type a file names beyond skops' primitives is checked against the platform's
        allowlist (`trusted`) and handed to `load` as the only trusted ones, so an empty default list
        changes nothing about what loads; only the modules skops' own code and the model's types name
        are imported (~450 fewer). A training run saves its model with it too (1.1 s less a run): what
    it declares trusted is then every type the fitted model names (it fitted them), not only those
    beyond the default list.
    """
    global _skops
    with _skops_lock:
        if _skops is None:
            import sklearn.utils

            everything = sklearn.utils.all_estimators
            sklearn.utils.all_estimators = lambda *args, **kwargs: []
            collecting = gc.isenabled()
            gc.disable()  # as while the server's modules import (`serving.main`): its objects live on
            try:
                import skops.io
            finally:
                sklearn.utils.all_estimators = everything
                if collecting:
                    gc.enable()
            _skops = skops.io
        return _skops
