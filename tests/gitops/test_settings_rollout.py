"""A committed settings change rolls the pods that read it: the checksum of platform.env, cluster.env
and the secrets' references is in the pod template of the model server, MLflow and Dagster's code
server, rendered before and after a change as Argo CD would."""

from __future__ import annotations

import shutil

import pytest
import yaml

from mlops_base.settings import REPO_ROOT
from mlops_platform.gitops import SETTINGS_CHECKSUM
from tests.gitops.manifests import ENVS, render
from tests.support import toggle


@pytest.fixture
def repo(tmp_path):
    for folder in ("gitops", "envs", "optional_layers"):
        shutil.copytree(REPO_ROOT / folder, tmp_path / folder, ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


def _checksums(root, env) -> dict[str, str]:
    """Per workload, the checksum its pods carry (Dagster: from the chart's values for the code server)."""
    found = {}
    for name in ("serving", "mlflow"):
        [deployment] = [d for d in render(root / "envs" / env / name) if d["kind"] == "Deployment"]
        found[name] = deployment["spec"]["template"]["metadata"]["annotations"][SETTINGS_CHECKSUM]
    values = yaml.safe_load((root / "envs" / env / "dagster" / "values.yaml").read_text())
    [code_server] = values["dagster-user-deployments"]["deployments"]
    found["dagster"] = code_server["annotations"][SETTINGS_CHECKSUM]
    return found


CHANGES = [(env, "platform.env") for env in ENVS] + [
    ("dev", "cluster.env"),
    ("prod", "../../gitops/base/secrets/externalsecrets.yaml"),
]


@pytest.mark.parametrize(("env", "changed"), CHANGES)
def test_a_committed_settings_change_changes_every_pod_template_that_reads_it(repo, env, changed):
    before = _checksums(repo, env)
    assert len(set(before.values())) == 1 and len(next(iter(before.values()))) == 64
    toggle(repo / "envs" / env, "render")
    assert _checksums(repo, env) == before  # rendering alone changes nothing

    path = repo / "envs" / env / changed
    path.write_text(path.read_text() + "\n# a committed change\n")
    toggle(repo / "envs" / env, "render")

    after = _checksums(repo, env)
    assert len(set(after.values())) == 1 and set(after.values()).isdisjoint(before.values())


def test_a_layer_toggle_leaves_the_checksums_alone(repo):
    """Layers restart their readers themselves (`./mlops layers --apply`); the core stays byte-identical."""
    before = _checksums(repo, "dev")
    toggle(repo / "envs" / "dev", "off")
    assert _checksums(repo, "dev") == before
