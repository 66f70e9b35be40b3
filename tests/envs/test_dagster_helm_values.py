"""Each env's Dagster Helm values (envs/<env>/dagster/values.yaml), checked offline with the
dagster-k8s library itself.

No Kubernetes API server can run on these machines: the run launcher, container context and
executor config are built and validated as the chart's instance ConfigMap would pass them, and
nothing is launched. The chart itself is not available offline, so its values.schema.json is not
checked (see tests/gitops/test_validation.py).
"""

from __future__ import annotations

import re

import pytest
import yaml
from dagster._config import process_config
from dagster_aws.s3.compute_log_manager import S3ComputeLogManager
from dagster_k8s import K8sRunLauncher, k8s_job_executor
from dagster_k8s.job import DagsterK8sJobConfig, UserDefinedDagsterK8sConfig, construct_dagster_k8s_job

from core_assets.instance import compute_logs_prefix, instance_config
from core_assets.logs import PYTHON_LOGS
from mlops_base.settings import REPO_ROOT, load_settings

ENVS = ["dev", "prod"]


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def chart_run_launcher_config(values: dict) -> dict:
    """`runLauncher.config.k8sRunLauncher` as the chart's instance ConfigMap renders it into
    dagster.yaml's `run_launcher.config` (camelCase keys to snake_case, env sources to names)."""
    chart = values["runLauncher"]["config"]["k8sRunLauncher"]
    config = {}
    for key, value in chart.items():
        if key in ("envConfigMaps", "envSecrets"):
            value = [source["name"] for source in value]
        elif key == "runK8sConfig":
            value = {_snake(k): v for k, v in value.items()}
        config[_snake(key)] = value
    # what the chart adds itself
    return {
        **config,
        "instance_config_map": "dagster-instance",
        "postgres_password_secret": "dagster-postgresql-secret",
        "dagster_home": "/opt/dagster/dagster_home",
        "service_account_name": values["global"]["serviceAccountName"],
    }


@pytest.fixture(scope="module", params=ENVS)
def env(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def values(env) -> dict:
    return yaml.safe_load((REPO_ROOT / "envs" / env / "dagster" / "values.yaml").read_text())


def test_the_run_launcher_config_validates_with_dagster_k8s(values):
    assert values["runLauncher"]["type"] == "K8sRunLauncher"

    result = process_config(K8sRunLauncher.config_type(), chart_run_launcher_config(values))

    assert result.success, [error.message for error in result.errors]


def test_a_run_renders_to_a_kubernetes_job_with_its_resources_and_security_context(env, values):
    """The Job the launcher would create for a run, built by dagster-k8s (not submitted anywhere)."""
    launcher = process_config(K8sRunLauncher.config_type(), chart_run_launcher_config(values)).value
    [deployment] = values["dagster-user-deployments"]["deployments"]
    image = f"{deployment['image']['repository']}:{deployment['image']['tag']}"
    job_config = DagsterK8sJobConfig(
        job_image=image,
        dagster_home=launcher["dagster_home"],
        image_pull_policy=launcher["image_pull_policy"],
        instance_config_map=launcher["instance_config_map"],
        postgres_password_secret=launcher["postgres_password_secret"],
        env_config_maps=launcher["env_config_maps"],
        env_secrets=launcher["env_secrets"],
        labels=launcher["labels"],
        service_account_name=launcher["service_account_name"],
        volumes=launcher["volumes"],
        volume_mounts=launcher["volume_mounts"],
    )

    job = construct_dagster_k8s_job(
        job_config,
        ["dagster", "api", "execute_run"],
        "dagster-run-0",
        user_defined_k8s_config=UserDefinedDagsterK8sConfig.from_dict(launcher["run_k8s_config"]),
    )

    pod = job.spec.template.spec
    [container] = pod.containers
    assert container.image == image
    resources = values["runLauncher"]["config"]["k8sRunLauncher"]["runK8sConfig"]["containerConfig"]["resources"]
    assert container.resources.requests == resources["requests"] and container.resources.limits == resources["limits"]
    assert container.security_context.run_as_non_root and not container.security_context.allow_privilege_escalation
    assert pod.security_context.run_as_user == 10001
    assert job.spec.backoff_limit == 0
    assert [source.secret_ref.name for source in container.env_from if source.secret_ref] == [
        "mlops-dagster",
        "mlops-reload-token",
    ]
    assert [source.config_map_ref.name for source in container.env_from if source.config_map_ref] == ["mlops-cluster"]
    # the env's platform.env and layers.yaml, where MLOPS_ENV_DIR (cluster.env) says
    [mount] = [m for m in container.volume_mounts if m.name == "env"]
    assert mount.mount_path == "/etc/mlops/env" and mount.read_only
    [volume] = [v for v in pod.volumes if v.name == "env"]
    sources = {s.config_map.name: s.config_map.optional for s in volume.projected.sources}
    assert sources == {"mlops-settings": None, "mlops-layers": True}
    cluster_env = (REPO_ROOT / "envs" / env / "cluster.env").read_text()
    assert "MLOPS_ENV_DIR=/etc/mlops/env" in cluster_env and f"MLOPS_ENV={env}" in cluster_env
    # the labels the env's NetworkPolicies let through to Postgres, MLflow and the model server
    labels = job.spec.template.metadata.labels
    assert {"mlops.dev/postgres-client", "mlops.dev/registry-client", "mlops.dev/reload-caller"} <= set(labels)


def test_a_misspelt_kubernetes_field_is_refused_when_the_job_is_built(values):
    launcher = process_config(K8sRunLauncher.config_type(), chart_run_launcher_config(values)).value
    broken = {**launcher["run_k8s_config"], "container_config": {"resourcez": {"limits": {"cpu": "1"}}}}

    with pytest.raises(Exception, match="Unexpected keys"):
        construct_dagster_k8s_job(
            DagsterK8sJobConfig(job_image="img:1", dagster_home="/opt/dagster/dagster_home"),
            [],
            "dagster-run-0",
            user_defined_k8s_config=UserDefinedDagsterK8sConfig.from_dict(broken),
        )


def test_a_broken_run_launcher_config_is_refused(values):
    broken = {**chart_run_launcher_config(values), "image_pull_policy": 3, "not_a_field": True}

    assert not process_config(K8sRunLauncher.config_type(), broken).success


def test_the_user_code_deployment_serves_the_code_location_from_the_platform_image(env, values):
    [deployment] = values["dagster-user-deployments"]["deployments"]
    assert deployment["dagsterApiGrpcArgs"] == ["--module-name", "core_assets.definitions"]
    assert [c["name"] for c in deployment["envConfigMaps"]] == ["mlops-cluster"]
    assert [s["name"] for s in deployment["envSecrets"]] == ["mlops-dagster", "mlops-reload-token"]
    assert deployment["image"]["tag"] not in ("", "latest")
    assert values["runLauncher"]["config"]["k8sRunLauncher"]["jobNamespace"] == f"mlops-{env}"


def test_storage_and_compute_logs_match_the_env(env, values, monkeypatch):
    """The cluster's settings: platform.env with cluster.env over it, as the pods get them."""
    for line in (REPO_ROOT / "envs" / env / "cluster.env").read_text().splitlines():
        if line and not line.startswith("#") and not line.startswith("MLOPS_ENV_DIR"):
            monkeypatch.setenv(*line.split("=", 1))
    settings = load_settings(env)
    instance = instance_config(settings)
    chart_logs = values["computeLogManager"]["config"]["s3ComputeLogManager"]

    assert values["computeLogManager"]["type"] == instance["compute_logs"]["class"] == "S3ComputeLogManager"
    assert chart_logs == {"bucket": settings.s3_bucket, "prefix": compute_logs_prefix(settings)}
    assert process_config(S3ComputeLogManager.config_type(), instance["compute_logs"]["config"]).success
    assert "storage" in instance and "postgres" in instance["storage"]
    assert values["postgresql"]["enabled"] is False and values["generatePostgresqlPasswordSecret"] is False


def test_the_k8s_job_executor_config_validates(values):
    step_config = {"step_k8s_config": {"container_config": {"resources": {"limits": {"cpu": "1"}}}}}

    assert process_config(k8s_job_executor.config_schema.config_type, step_config).success
    assert not process_config(k8s_job_executor.config_schema.config_type, {"no_such_key": 1}).success


def test_the_runs_log_reaches_the_optional_layers_as_locally(values):
    """The chart's instance gets the same python_logs handler as the dagster.yaml `./mlops up` writes."""
    assert values["pythonLogs"]["dagsterHandlerConfig"] == PYTHON_LOGS["dagster_handler_config"]
