"""`./mlops layers` as a user runs it: --dry-run writes nothing and prints the file diff and the
kubectl commands; without a cluster, --apply says so and changes only files. No Kubernetes API
server can run on these machines, so the commands themselves are never run here."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mlops_base.settings import REPO_ROOT
from tests.gitops.manifests import core_digest

pytestmark = pytest.mark.real  # the `mlops` CLI in its own process, and kubectl

MLOPS = str(Path(sys.executable).parent / "mlops")


@pytest.fixture
def repo(tmp_path):
    for folder in ("gitops", "envs"):
        shutil.copytree(REPO_ROOT / folder, tmp_path / folder)
    return tmp_path


def _files_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(root)).encode() + path.read_bytes())
    return digest.hexdigest()


def _mlops(repo: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "MLOPS_ENVS_DIR": str(repo / "envs"), "KUBECONFIG": str(repo / "no-kubeconfig")}
    return subprocess.run(
        [MLOPS, "layers", *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_dry_run_prints_the_cluster_change_and_writes_nothing(repo):
    files, core = _files_digest(repo), core_digest(repo)

    done = _mlops(repo, "off", "monitoring", "--env", "prod", "--dry-run")

    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.startswith("dry run: nothing written, nothing applied (monitoring: on -> off in prod)")
    assert "-  monitoring: true\n+  monitoring: false" in out
    assert "-- ../../../gitops/optional/monitoring" in out and "-      value: monitoring-prod" in out
    assert "kubectl -n argocd annotate application root-optional-prod argocd.argoproj.io/refresh=hard" in out
    assert "kubectl -n mlops-prod rollout restart deployment -l mlops.dev/reads-layers=true" in out
    assert _files_digest(repo) == files and core_digest(repo) == core


def test_apply_without_a_cluster_says_so_and_changes_only_files(repo):
    core = core_digest(repo)

    done = _mlops(repo, "off", "--env", "prod", "--apply")

    assert done.returncode == 0, done.stderr
    assert "optional set (root-optional): attached -> detached in prod" in done.stdout
    assert "no Kubernetes cluster reachable" in done.stdout
    assert "kubectl -n argocd delete application root-optional-prod --ignore-not-found --wait=true" in done.stdout
    assert "attached: false" in (repo / "envs" / "prod" / "optional" / "mlops-layers.yaml").read_text()
    assert core_digest(repo) == core


def test_an_unchanged_toggle_has_nothing_to_do_in_the_cluster(repo):
    done = _mlops(repo, "on", "monitoring", "--env", "prod", "--dry-run")

    assert "unchanged: monitoring already on in prod" in done.stdout and "kubectl" not in done.stdout
