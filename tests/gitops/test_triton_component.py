"""The Triton sidecar component: included in an env's serving overlay exactly when its settings
serve a variant through Triton, and, rendered into a copy of prod's, a valid pod in which the model
server reaches Triton on loopback and only the model server holds the repository API's key."""

from __future__ import annotations

import shutil

import kubernetes_validate
import pytest

from mlops_base.settings import REPO_ROOT, load_settings
from tests.gitops.manifests import ENVS, render

COMPONENT = "../../../gitops/components/triton"
KUBERNETES_VERSION = "1.33"


@pytest.mark.parametrize("env", ENVS)
def test_an_env_includes_the_sidecar_exactly_when_it_serves_through_triton(env):
    overlay = (REPO_ROOT / "envs" / env / "serving" / "kustomization.yaml").read_text()
    settings = load_settings(env)
    assert (COMPONENT in overlay) == settings.uses_triton, (
        f"env {env}: SERVING_BACKEND(_BY_ALIAS) and the triton component of envs/{env}/serving disagree"
    )


@pytest.fixture
def with_triton(tmp_path) -> list[dict]:
    for folder in ("gitops", "envs"):
        shutil.copytree(REPO_ROOT / folder, tmp_path / folder)
    overlay = tmp_path / "envs" / "prod" / "serving" / "kustomization.yaml"
    overlay.write_text(overlay.read_text() + f"components:\n  - {COMPONENT}\n")
    return render(overlay.parent)


def test_the_sidecar_pod_validates_and_keeps_triton_to_the_model_server(with_triton):
    for doc in with_triton:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
    [deployment] = [d for d in with_triton if d["kind"] == "Deployment"]
    pod = deployment["spec"]["template"]["spec"]
    [sidecar], [server] = pod["initContainers"], pod["containers"]
    assert sidecar["restartPolicy"] == "Always" and sidecar["startupProbe"]["httpGet"]["path"] == "/v2/health/ready"
    args = sidecar["args"]
    assert {"--model-control-mode=explicit", "--model-repository=/models", "--http-port=8100"} <= set(args)
    assert [a for a in args if "restricted" in a] == [
        "--http-restricted-api=model-repository,model-config:x-mlops-admin-key=$(TRITON_ADMIN_KEY)",
        "--grpc-restricted-protocol=model-repository,model-config:x-mlops-admin-key=$(TRITON_ADMIN_KEY)",
    ]
    env = {e["name"]: e.get("value") for e in server["env"]}
    assert env == {"TRITON_URL": "http://127.0.0.1:8100", "TRITON_MODEL_REPOSITORY": "/models"}
    assert {"secretRef": {"name": "mlops-triton"}} in server["envFrom"]
    mounts = {c["name"]: {m["name"]: m for m in c["volumeMounts"]} for c in (sidecar, server)}
    assert mounts["triton"]["triton-models"]["readOnly"] and "readOnly" not in mounts["serving"]["triton-models"]
    [policy] = [d for d in with_triton if d["kind"] == "NetworkPolicy"]
    assert [p["port"] for rule in policy["spec"]["ingress"] for p in rule["ports"]] == [8000]
