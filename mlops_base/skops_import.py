"""skops, imported lean: shared by the model server (loading) and the training runs (saving)."""

from __future__ import annotations

import gc
import sys
import threading
from collections.abc import Callable
from types import ModuleType
from typing import Any

_skops_lock = threading.Lock()
_skops: ModuleType | None = None
_TRUSTED_TYPES_MODULE = "skops.io._trusted_types"


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
    beyond the default list. The ufunc names of that list are found with an index (`_IndexedLookup`).
    """
    global _skops
    with _skops_lock:
        if _skops is None:
            import sklearn.utils

            everything = sklearn.utils.all_estimators
            sklearn.utils.all_estimators = lambda *args, **kwargs: []
            lookup = _IndexedLookup()
            sys.meta_path.insert(0, lookup)
            collecting = gc.isenabled()
            gc.disable()  # as while the server's modules import (`serving.main`): its objects live on
            try:
                import skops.io
            finally:
                sklearn.utils.all_estimators = everything
                sys.meta_path.remove(lookup)
                lookup.restore()
                if collecting:
                    gc.enable()
            _skops = skops.io
        return _skops


class _IndexedLookup:
    """While skops' default trusted types are built: its `whichmodule` answered from an index.

    For an object without `__module__` (numpy's and scipy's ufuncs, ~600 of them), skops' own
    `whichmodule` walks every loaded module for the first one holding it. A Dagster run has
    ~3,300 modules loaded before scipy, so that walk cost ~0.3 s of every training run (profiled);
    the index is built in one pass over the same modules, in the same order, for the type asked
    about. An import hook (a finder that finds nothing) swaps it in just before
    `skops.io._trusted_types` runs, and `restore` puts skops' own back once the import is over, so
    saving and loading models use skops' code unchanged."""

    def __init__(self) -> None:
        self._utils: ModuleType | None = None
        self._original: Callable[[Any, str], str] | None = None
        self._index: dict[type, dict[tuple[str, int], str]] = {}

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> None:
        utils = sys.modules.get("skops.io._utils")
        if fullname == _TRUSTED_TYPES_MODULE and utils is not None and self._utils is None:
            self._utils, self._original = utils, utils.whichmodule
            utils.whichmodule = self.whichmodule
        return None  # the module itself is found and loaded as usual

    def restore(self) -> None:
        if self._utils is not None:
            self._utils.whichmodule = self._original

    def whichmodule(self, obj: Any, name: str) -> str:
        module_name = getattr(obj, "__module__", None)
        if module_name is not None:
            return module_name
        index = self._index.get(type(obj))
        if index is None:
            index = self._index[type(obj)] = _first_holders(type(obj))
        found = index.get((name, id(obj)))
        return found if found is not None else self._original(obj, name)


def _first_holders(kind: type) -> dict[tuple[str, int], str]:
    """(attribute, object id) -> the first loaded module (import order) holding an object of `kind` by that name."""
    index: dict[tuple[str, int], str] = {}
    for module_name, module in list(sys.modules.items()):
        if module is None or module_name in ("__main__", "__mp_main__"):
            continue
        namespace = getattr(module, "__dict__", None)
        if not isinstance(namespace, dict):
            continue
        for attribute, value in list(namespace.items()):
            if type(value) is kind:
                index.setdefault((attribute, id(value)), module_name)
    return index
