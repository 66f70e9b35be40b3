"""The lean skops import builds the same default trusted types as skops' own code, and leaves
skops' own `whichmodule` in place for saving and loading models."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.support import REPO_ROOT

# many modules loaded before scipy, as in a Dagster run: the order the lookup must respect
SCRIPT = """
import json, sys
import dagster, sklearn.linear_model
if sys.argv[1] == "lean":
    from mlops_base.skops_import import skops_io
    skops_io()
else:
    import sklearn.utils
    sklearn.utils.all_estimators = lambda *args, **kwargs: []
    import skops.io
import skops.io._trusted_types as trusted, skops.io._utils as utils
lists = {k: [str(t) for t in v] for k, v in sorted(vars(trusted).items()) if k.isupper() and isinstance(v, list)}
print(json.dumps({"lists": lists, "whichmodule": utils.whichmodule.__qualname__}))
"""


def _imported(how: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, how], capture_output=True, text=True, cwd=REPO_ROOT, timeout=180
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_lean_import_trusts_what_skops_own_code_trusts():
    lean, plain = _imported("lean"), _imported("plain")
    assert len(plain["lists"]["SCIPY_UFUNC_TYPE_NAMES"]) > 100  # the names the index found
    assert lean["lists"] == plain["lists"]
    assert lean["whichmodule"] == "whichmodule"  # skops' own function again, not the index's method
