"""pyarrow stays out of a model server with no optional layer on, and comes with any layer."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from tests.support import REPO_ROOT

SCRIPT = (
    "import sys\n"
    "import serving.main\n"
    "import pandas as pd\n"
    "frame = pd.DataFrame({'a': [1.5], 'b': ['x']})\n"  # pandas works without it
    "assert frame.to_numpy().tolist() == [[1.5, 'x']]\n"
    "print('pyarrow' in sys.modules)\n"
)


@pytest.mark.parametrize(
    ("layers", "loaded"), [("attached: false\n", "False"), ("attached: true\nlayers: {monitoring: true}\n", "True")]
)
def test_pyarrow_is_imported_only_when_a_layer_is_on(tmp_path, layers, loaded):
    envs = tmp_path / "envs"
    shutil.copytree(REPO_ROOT / "envs" / "dev", envs / "dev")
    (envs / "dev" / "layers.yaml").write_text(layers)
    env = {**os.environ, "MLOPS_ENV": "dev", "MLOPS_ENVS_DIR": str(envs)}
    env.pop("MLOPS_ENV_DIR", None)
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, cwd=REPO_ROOT, env=env, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == loaded
