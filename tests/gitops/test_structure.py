"""What the GitOps tree promises, checked on its rendered output: every app's path exists and
renders; the core syncs automatically with prune and selfHeal, storage never prunes; `root` never
reaches an optional layer and `root-optional` nothing else; every env overlays every component
into its own namespace; prod pins its revisions; secrets are references only; the model server's
Deployment is what the serving contract needs; toggling any layer leaves the core byte-identical."""

from __future__ import annotations

import re
import shutil

import pytest
import yaml

import optional_layers.alerts  # noqa: F401 - its settings hold a secret (the Slack webhook)
from layer_api.manager import known_layers
from mlops_base.layer_settings import all_secret_names
from mlops_base.settings import REPO_ROOT, Settings, load_settings
from mlops_platform.layer_toggle import plan
from tests.gitops.manifests import (
    COMPONENTS,
    ENVS,
    REPO_URL,
    component_dir,
    core_applications,
    core_digest,
    core_roots,
    documents,
    kustomize,
    render,
    sources,
)
from tests.support import toggle

PINNED = re.compile(r"^(v\d+\.\d+\.\d+|[0-9a-f]{40})$")


@pytest.fixture(scope="module")
def apps() -> list[dict]:
    return core_applications()


def _app(apps, env, component) -> dict:
    [app] = [a for a in apps if a["metadata"]["name"] == f"mlops-{env}-{component}"]
    return app


def test_the_core_is_every_env_times_every_component_in_wave_order(apps):
    assert sorted(a["metadata"]["name"] for a in apps) == sorted(f"mlops-{e}-{c}" for e in ENVS for c in COMPONENTS)
    for app in apps:
        component = app["metadata"]["labels"]["mlops.dev/component"]
        wave = str(COMPONENTS.index(component))
        assert app["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"] == wave
        assert app["metadata"]["labels"]["mlops.dev/sync-wave"] == wave
    [appset] = [d for d in render(REPO_ROOT / "gitops" / "root") if d["kind"] == "ApplicationSet"]
    steps = appset["spec"]["strategy"]["rollingSync"]["steps"]
    assert [s["matchExpressions"][0]["values"] for s in steps] == [[str(i)] for i in range(len(COMPONENTS))]


def test_the_core_syncs_with_prune_and_self_heal_but_storage_never_prunes(apps):
    for app in apps:
        automated = app["spec"]["syncPolicy"]["automated"]
        storage = app["metadata"]["labels"]["mlops.dev/component"] == "storage"
        assert automated == {"prune": not storage, "selfHeal": True}, app["metadata"]["name"]
        assert "resources-finalizer.argocd.argoproj.io" in app["metadata"]["finalizers"]
    postgres = [d for d in render(REPO_ROOT / "envs" / "prod") if d["kind"] == "StatefulSet"]
    assert postgres[0]["metadata"]["annotations"]["argocd.argoproj.io/sync-options"] == "Prune=false,Delete=false"
    assert postgres[0]["spec"]["persistentVolumeClaimRetentionPolicy"]["whenDeleted"] == "Retain"
    [root] = [d for d in render(REPO_ROOT / "gitops" / "bootstrap") if d["kind"] == "Application"]
    assert root["spec"]["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}


def test_every_application_path_exists_and_renders(apps):
    layer_apps = [
        d for env in ENVS for d in render(REPO_ROOT / "envs" / env / "optional") if d["kind"] == "Application"
    ]
    bootstrap = [d for d in render(REPO_ROOT / "gitops" / "bootstrap") if d["kind"] == "Application"]
    bootstrap += [yaml.safe_load(p.read_text()) for p in (REPO_ROOT / "gitops" / "bootstrap").glob("root-optional-*")]
    for app in [*apps, *layer_apps, *bootstrap]:
        for source in sources(app):
            if "path" in source:
                assert source["repoURL"] == REPO_URL
                assert (REPO_ROOT / source["path"]).is_dir(), f"{app['metadata']['name']}: {source['path']}"
                kustomize(REPO_ROOT / source["path"])
            else:  # a Helm chart: pinned to a version
                assert re.fullmatch(r"\d+\.\d+\.\d+", source["targetRevision"]), source


def test_every_env_overlays_every_component_into_its_own_namespace():
    for env in ENVS:
        for component in COMPONENTS:
            docs = render(component_dir(REPO_ROOT, env, component))
            assert {d["metadata"].get("namespace") for d in docs} == {f"mlops-{env}"}, (env, component)


def test_root_never_reaches_an_optional_layer_and_root_optional_only_layers():
    core_text = "".join(kustomize(root) for root in core_roots())
    assert "gitops/optional" not in core_text and "/optional" not in core_text
    assert "mlops.dev/layer" not in core_text
    for env in ENVS:
        for doc in render(REPO_ROOT / "envs" / env / "optional"):
            if doc["kind"] == "Application":
                assert doc["metadata"]["labels"]["mlops.dev/layer"] in known_layers()
                assert doc["metadata"]["name"].endswith(f"-{env}") and doc["spec"]["project"] == f"mlops-{env}"
            else:
                assert (doc["kind"], doc["metadata"]["name"]) == ("ConfigMap", "mlops-layers")


def test_each_env_project_limits_sources_and_destinations():
    projects = {d["metadata"]["name"]: d for d in render(REPO_ROOT / "gitops" / "root") if d["kind"] == "AppProject"}
    assert set(projects) == {f"mlops-{env}" for env in ENVS}
    for env in ENVS:
        spec = projects[f"mlops-{env}"]["spec"]
        assert spec["destinations"] == [{"server": "https://kubernetes.default.svc", "namespace": f"mlops-{env}"}]
        assert "*" not in spec["sourceRepos"] and REPO_URL in spec["sourceRepos"]


def test_prod_pins_revisions_images_and_charts(apps):
    for app in [a for a in apps if a["metadata"]["labels"]["mlops.dev/env"] == "prod"]:
        for source in sources(app):
            assert PINNED.match(source["targetRevision"]) or "chart" in source, app["metadata"]["name"]
    root_optional = yaml.safe_load((REPO_ROOT / "gitops/bootstrap/root-optional-prod.yaml").read_text())
    assert PINNED.match(root_optional["spec"]["source"]["targetRevision"])
    images = [c["image"] for c in _containers("prod")]
    images += [f"{d['image']['repository']}:{d['image']['tag']}" for d in _dagster_values("prod")]
    assert images and all(re.search(r":[\w.-]+$", i) and not i.endswith(":latest") for i in images), images


def _containers(env: str) -> list[dict]:
    docs = [d for c in COMPONENTS for d in render(component_dir(REPO_ROOT, env, c))]
    return [
        c
        for d in docs
        if d["kind"] in ("Deployment", "StatefulSet")
        for c in d["spec"]["template"]["spec"]["containers"]
    ]


def _dagster_values(env: str) -> list[dict]:
    values = yaml.safe_load((REPO_ROOT / "envs" / env / "dagster" / "values.yaml").read_text())
    return values["dagster-user-deployments"]["deployments"]


def test_secrets_are_external_references_never_values():
    for env in ENVS:
        docs = [d for c in COMPONENTS for d in render(component_dir(REPO_ROOT, env, c))]
        assert not [d for d in docs if d["kind"] == "Secret"], "a Secret in clear in the rendered core"
        external = {d["metadata"]["name"]: d for d in docs if d["kind"] == "ExternalSecret"}
        assert {d["spec"]["secretStoreRef"]["name"] for d in external.values()} == {f"mlops-{env}"}
        keys = {item["secretKey"] for d in external.values() for item in d["spec"]["data"]}
        assert all_secret_names() <= keys
        cluster = next(d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "mlops-cluster")
        assert not all_secret_names() & set(cluster["data"])
    prod_settings = (REPO_ROOT / "envs/prod/platform.env").read_text()
    assert not [n for n in all_secret_names() if re.search(rf"^{n}=", prod_settings, re.M)]


def test_the_settings_configmap_is_the_env_file_local_runs_read():
    for env in ENVS:
        [settings] = [d for d in render(REPO_ROOT / "envs" / env) if d["metadata"]["name"] == "mlops-settings"]
        assert settings["data"] == {"platform.env": (REPO_ROOT / "envs" / env / "platform.env").read_text()}


def _serving_docs(env: str) -> list[dict]:
    return render(component_dir(REPO_ROOT, env, "serving"))


def _serving(env: str) -> dict[str, dict]:
    return {d["kind"]: d for d in _serving_docs(env) if d["metadata"]["name"] == "serving"}


def _cluster_env(env: str) -> dict[str, str]:
    """cluster.env's variables, as the pods see them over platform.env."""
    lines = (REPO_ROOT / "envs" / env / "cluster.env").read_text().splitlines()
    pairs = dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))
    paths = {"mlops_env", "mlops_env_dir", "mlops_state_dir"}  # the pod's mounts, not this machine's
    return {k.lower(): v for k, v in pairs.items() if k.lower() in Settings.model_fields and k.lower() not in paths}


@pytest.mark.parametrize("env", ENVS)
def test_the_model_server_deployment_follows_the_serving_contract(env):
    docs = _serving(env)
    pod = docs["Deployment"]["spec"]["template"]["spec"]
    [container] = pod["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    assert container["resources"]["requests"] and container["resources"]["limits"]
    assert pod["securityContext"]["runAsNonRoot"] and container["securityContext"]["readOnlyRootFilesystem"]
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert {"secretRef": {"name": "mlops-reload-token"}} in container["envFrom"]
    assert docs["HorizontalPodAutoscaler"]["spec"]["minReplicas"] >= 2
    assert docs["PodDisruptionBudget"]["spec"]["minAvailable"] == 1
    assert docs["Ingress"]["spec"]["rules"][0]["host"] == f"serving.mlops-{env}.example.com"
    peers = docs["NetworkPolicy"]["spec"]["ingress"][0]["from"]
    controller = {"app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/component": "controller"}
    assert peers == [  # the ingress controller's pods, not its whole namespace
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}},
            "podSelector": {"matchLabels": controller},
        },
        {"podSelector": {"matchLabels": {"mlops.dev/reload-caller": "true"}}},
    ]
    assert docs["NetworkPolicy"]["spec"]["ingress"][0]["ports"] == [{"port": 8000, "protocol": "TCP"}]
    assert {"secretRef": {"name": "mlops-prediction-log", "optional": True}} in container["envFrom"]
    [scratch] = [v for v in pod["volumes"] if v["name"] == "tmp"]
    assert scratch["emptyDir"]["sizeLimit"]
    # the only ones that may call /variant/*/reload: Dagster's code location and runs
    callers = {d.get("labels", {}).get("mlops.dev/reload-caller") for d in _dagster_values(env)}
    assert callers == {"true"}


@pytest.mark.parametrize("env", ENVS)
def test_every_ingress_serves_tls_with_a_cert_manager_certificate_for_each_host(env):
    docs = [d for c in COMPONENTS for d in render(component_dir(REPO_ROOT, env, c))]
    docs += [d for d in render(REPO_ROOT / "envs" / env / "optional") if d["kind"] == "Ingress"]
    ingresses = [d for d in docs if d["kind"] == "Ingress"]
    assert ingresses
    for ingress in ingresses:
        hosts = {rule["host"] for rule in ingress["spec"]["rules"]}
        covered = {host for tls in ingress["spec"]["tls"] for host in tls["hosts"]}
        assert hosts <= covered and all(tls["secretName"] for tls in ingress["spec"]["tls"])
        assert ingress["metadata"]["annotations"]["cert-manager.io/cluster-issuer"]
        assert ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/force-ssl-redirect"] == "true"


@pytest.mark.parametrize("env", ENVS)
def test_releases_find_every_ready_replica_through_a_headless_service(env):
    services = {d["metadata"]["name"]: d for d in _serving_docs(env) if d["kind"] == "Service"}
    headless = services["serving-replicas"]["spec"]
    assert headless["clusterIP"] == "None" and not headless.get("publishNotReadyAddresses")
    assert headless["selector"] == services["serving"]["spec"]["selector"]
    settings = load_settings(env, **_cluster_env(env))
    assert settings.serving_replicas_dns == f"serving-replicas.mlops-{env}.svc.cluster.local:8000"


def test_the_generated_gitops_files_are_current():
    """root-optional of every env and the layers' generated manifests match their sources."""
    for env in (*ENVS, "prod-local"):
        stale = plan(REPO_ROOT / "envs" / env, "render").files
        assert not stale, f"stale: {sorted(map(str, stale))}; run ./mlops layers render --env {env}"


@pytest.fixture
def repo(tmp_path):
    """A copy of what the GitOps tree renders from, toggled freely."""
    for folder in ("gitops", "envs", "optional_layers"):
        shutil.copytree(REPO_ROOT / folder, tmp_path / folder, ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


@pytest.mark.real  # kubectl kustomize of every core app, once per toggle
def test_toggling_each_layer_and_the_optional_set_leaves_the_core_byte_identical(repo):
    before = core_digest(repo)
    for env in ENVS:
        env_dir = repo / "envs" / env
        for layer in known_layers():
            for action in ("on", "off", "on"):
                toggle(env_dir, action, layer)
                assert (f"{layer}-{env}" in _layer_apps(env_dir)) == (action == "on")
                assert core_digest(repo) == before, f"{action} {layer} in {env} changed the core"
        for action in ("off", "on"):
            toggle(env_dir, action)
            assert bool(_layer_apps(env_dir)) == (action == "on")
            assert core_digest(repo) == before, f"{action} the optional set of {env} changed the core"


def _layer_apps(env_dir) -> set[str]:
    return {d["metadata"]["name"] for d in documents(kustomize(env_dir / "optional")) if d["kind"] == "Application"}


def test_the_core_digest_sees_a_change_in_the_core(repo):
    """The byte-identical check can fail: any edit of a core manifest changes the digest."""
    before = core_digest(repo)
    values = repo / "gitops" / "base" / "serving" / "service.yaml"
    values.write_text(values.read_text().replace("port: 8000", "port: 8001"))
    assert core_digest(repo) != before
