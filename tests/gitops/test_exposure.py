"""What a cluster exposes: one Ingress (the model server's), ClusterIP Services, a policy per
workload, and exactly the model server's public routes through the Ingress."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_base.settings import REPO_ROOT
from tests.gitops.manifests import COMPONENTS, ENVS, component_dir, render


@pytest.mark.parametrize("env", ENVS)
def test_admin_surfaces_are_not_exposed(env, tmp_path):
    docs = [d for c in COMPONENTS for d in render(component_dir(REPO_ROOT, env, c))]
    assert [d["metadata"]["name"] for d in docs if d["kind"] == "Ingress"] == ["serving"]
    assert {d["spec"]["type"] for d in docs if d["kind"] == "Service"} == {"ClusterIP"}
    policies = {d["metadata"]["name"]: d for d in docs if d["kind"] == "NetworkPolicy"}
    assert policies["default-deny-ingress"]["spec"] == {"podSelector": {}, "policyTypes": ["Ingress"]}
    workloads = {
        d["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/name"]
        for d in docs
        if d["kind"] in ("Deployment", "StatefulSet")
    }
    selected = {
        p["spec"]["podSelector"].get("matchLabels", {}).get("app.kubernetes.io/name") for p in policies.values()
    }
    assert workloads <= selected, f"workloads without a policy of their own: {workloads - selected}"
    ingress = docs[[d["kind"] for d in docs].index("Ingress")]
    paths = [(p["path"], p["pathType"]) for p in ingress["spec"]["rules"][0]["http"]["paths"]]
    assert _routed(paths, tmp_path) == PUBLIC_ROUTES


# what the Ingress may route, of every route the model server has with every layer on
PUBLIC_ROUTES = {
    "/predict",
    "/variant/{alias}/predict",  # as /variant/A/predict and /variant/B/predict, exactly
    "/v2",
    "/v2/health/live",
    "/v2/health/ready",
    "/v2/models/{model_name}",
    "/v2/models/{model_name}/ready",
    "/v2/models/{model_name}/infer",
    "/v2/models/{model_name}/versions/{model_version}",
    "/v2/models/{model_name}/versions/{model_version}/ready",
    "/v2/models/{model_name}/versions/{model_version}/infer",
    "/invocations",
    "/ping",
    "/feedback",
    "/health",
    "/ready",
}


def _routed(paths: list[tuple[str, str]], state_dir: Path) -> set[str]:
    """The model server's routes (all layers on) an Ingress with `paths` sends on: a route's path
    parameters filled with a served name or an alias."""
    from tests.fakes import fake_server

    layers = frozenset({"evaluation", "monitoring"})
    with fake_server(layers=layers, mlops_state_dir=state_dir) as (client, _):
        routes = {*client.get("/openapi.json").json()["paths"], "/openapi.json", "/docs", "/redoc", "/metrics"}

    def admitted(path: str) -> bool:
        concrete = path.replace("{alias}", "A").replace("{model_name}", "m").replace("{model_version}", "1")
        return any(
            concrete == p or (kind == "Prefix" and concrete.startswith(p.rstrip("/") + "/")) for p, kind in paths
        )

    assert {"/variant/{alias}/reload", "/models", "/evaluation", "/metrics", "/docs", "/openapi.json"} <= routes
    return {route for route in routes if admitted(route)}
