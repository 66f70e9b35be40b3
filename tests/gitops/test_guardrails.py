"""The cluster's guard rails, validated offline on the rendered manifests: each env namespace has a
ResourceQuota that holds the platform at its largest (every pod at its requests: the serving
autoscaler's maximum, MLflow, Postgres, the collector, Dagster's webserver, daemon and code
server, BATCH_MAX_CONCURRENT batch runs and three release runs) and a LimitRange that gives
undeclared containers requests; the model servers are scheduled before batch runs, which never
preempt; the registry has a disruption budget; the tracing path ends at the env's collector."""

from __future__ import annotations

import json
from urllib.parse import urlparse

import pytest
import yaml

from core_assets.batch import K8S_CONFIG_TAG
from core_assets.definitions import build_definitions
from layer_api.manager import LayerManager
from mlops_base.settings import REPO_ROOT, load_settings
from tests.gitops.manifests import ENVS, render

RELEASE_RUNS = 3  # train, deploy and rollback runs at once, at the run launcher's default resources
UNITS = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30}


def _cpu(text: str) -> float:
    return float(text[:-1]) / 1000 if text.endswith("m") else float(text)


def _bytes(text: str) -> float:
    return float(text[:-2]) * UNITS[text[-2:]] if text[-2:] in UNITS else float(text)


def _pods(docs: list[dict]) -> list[tuple[dict, int]]:
    """Each workload's pod spec and how many of it run at most (an autoscaler's maximum)."""
    scale = {
        d["spec"]["scaleTargetRef"]["name"]: d["spec"]["maxReplicas"]
        for d in docs
        if d["kind"] == "HorizontalPodAutoscaler"
    }
    return [
        (d["spec"]["template"]["spec"], scale.get(d["metadata"]["name"], d["spec"].get("replicas", 1)))
        for d in docs
        if d["kind"] in ("Deployment", "StatefulSet")
    ]


def _env_docs(env: str) -> dict[str, list[dict]]:
    root = REPO_ROOT / "envs" / env
    return {c: render(root / c if c else root) for c in ("", "mlflow", "tracing", "serving")}


@pytest.mark.parametrize("env", ENVS)
def test_each_env_s_quota_holds_the_platform_at_its_largest(env):
    settings = load_settings(env)
    docs = _env_docs(env)
    [quota] = [d for d in docs[""] if d["kind"] == "ResourceQuota"]
    [limits] = [d for d in docs[""] if d["kind"] == "LimitRange"]
    assert {"defaultRequest", "default", "max"} <= set(limits["spec"]["limits"][0])

    requests: list[dict] = []
    for part in docs.values():
        for spec, count in _pods(part):
            requests += [c["resources"]["requests"] for c in spec["containers"]] * count
    values = yaml.safe_load((REPO_ROOT / "envs" / env / "dagster" / "values.yaml").read_text())
    requests += [values[part]["resources"]["requests"] for part in ("dagsterWebserver", "dagsterDaemon")]
    requests += [d["resources"]["requests"] for d in values["dagster-user-deployments"]["deployments"]]
    launcher = values["runLauncher"]["config"]["k8sRunLauncher"]["runK8sConfig"]["containerConfig"]
    requests += [launcher["resources"]["requests"]] * RELEASE_RUNS
    batch = {"cpu": settings.batch_run_cpu, "memory": settings.batch_run_memory}
    requests += [batch] * settings.batch_max_concurrent

    hard = quota["spec"]["hard"]
    assert sum(_cpu(r["cpu"]) for r in requests) <= _cpu(hard["requests.cpu"])
    assert sum(_bytes(r["memory"]) for r in requests) <= _bytes(hard["requests.memory"])
    assert hard["services.loadbalancers"] == hard["services.nodeports"] == "0"  # the ingress is the way in


def test_the_model_servers_come_before_batch_runs_which_never_preempt():
    classes = {
        d["metadata"]["name"]: d for d in render(REPO_ROOT / "gitops" / "bootstrap") if d["kind"] == "PriorityClass"
    }
    assert classes["mlops-serving"]["value"] > classes["mlops-batch"]["value"]
    assert classes["mlops-batch"]["preemptionPolicy"] == "Never"
    assert not any(c.get("globalDefault") for c in classes.values())
    for env in ENVS:
        [(spec, _)] = [(s, n) for s, n in _pods(_env_docs(env)["serving"]) if s["containers"][0]["name"] == "serving"]
        assert spec["priorityClassName"] == "mlops-serving"
    settings = load_settings("dev")
    job = build_definitions(settings, LayerManager(settings, set())).resolve_job_def("batch_job")
    assert json.loads(job.tags[K8S_CONFIG_TAG])["pod_spec_config"]["priority_class_name"] == "mlops-batch"


@pytest.mark.parametrize("env", ENVS)
def test_the_registry_has_a_disruption_budget_and_traces_end_at_the_env_s_collector(env):
    docs = _env_docs(env)
    [budget] = [d for d in docs["mlflow"] if d["kind"] == "PodDisruptionBudget"]
    [(mlflow, _)] = _pods(docs["mlflow"])
    [deployment] = [d for d in docs["mlflow"] if d["kind"] == "Deployment"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert mlflow and budget["spec"]["selector"]["matchLabels"].items() <= labels.items()

    cluster = dict(
        line.split("=", 1)
        for line in (REPO_ROOT / "envs" / env / "cluster.env").read_text().splitlines()
        if line and not line.startswith("#")
    )
    endpoint = urlparse(cluster["OTEL_EXPORTER_OTLP_ENDPOINT"])
    [service] = [d for d in docs["tracing"] if d["kind"] == "Service"]
    assert endpoint.hostname == f"{service['metadata']['name']}.{service['metadata']['namespace']}.svc"
    assert endpoint.port in {p["port"] for p in service["spec"]["ports"]}
    [config] = [d for d in docs["tracing"] if d["kind"] == "ConfigMap"]
    pipeline = yaml.safe_load(config["data"]["config.yaml"])["service"]["pipelines"]["traces"]
    assert pipeline["receivers"] == ["otlp"] and "memory_limiter" in pipeline["processors"]
    [policy] = [d for d in docs["tracing"] if d["kind"] == "NetworkPolicy"]
    assert {p["port"] for rule in policy["spec"]["ingress"] for p in rule["ports"]} == {endpoint.port}
