"""The prod env's Dagster Helm values, checked offline with the dagster-k8s library itself.

No Kubernetes API server can run on these machines: the run launcher, container context and
executor config are built and validated as the chart's instance ConfigMap would pass them, and
nothing is launched.
"""

from __future__ import annotations

import re

import pytest
import yaml
from dagster._config import process_config
from dagster_aws.s3.compute_log_manager import S3ComputeLogManager
from dagster_k8s import K8sRunLauncher, k8s_job_executor
from dagster_k8s.job import DagsterK8sJobConfig, UserDefinedDagsterK8sConfig, construct_dagster_k8s_job

from core_assets.storage import compute_logs_prefix, instance_config
from mlops_base.settings import REPO_ROOT, load_settings

VALUES = REPO_ROOT / "envs" / "prod" / "dagster-values.yaml"


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
    return {**config, "instance_config_map": "dagster-instance", "postgres_password_secret": "dagster-postgresql-secret",
            "dagster_home": "/opt/dagster/dagster_home", "service_account_name": values["global"]["serviceAccountName"]}


@pytest.fixture(scope="module")
def values() -> dict:
    return yaml.safe_load(VALUES.read_text())


def test_the_run_launcher_config_validates_with_dagster_k8s(values):
    assert values["runLauncher"]["type"] == "K8sRunLauncher"

    result = process_config(K8sRunLauncher.config_type(), chart_run_launcher_config(values))

    assert result.success, [error.message for error in result.errors]


def test_a_run_renders_to_a_kubernetes_job_with_its_resources_and_security_context(values):
    """The Job the launcher would create for a run, built by dagster-k8s (not submitted anywhere)."""
    launcher = process_config(K8sRunLauncher.config_type(), chart_run_launcher_config(values)).value
    [deployment] = values["dagster-user-deployments"]["deployments"]
    image = f"{deployment['image']['repository']}:{deployment['image']['tag']}"
    job_config = DagsterK8sJobConfig(
        job_image=image, dagster_home=launcher["dagster_home"], image_pull_policy=launcher["image_pull_policy"],
        instance_config_map=launcher["instance_config_map"],
        postgres_password_secret=launcher["postgres_password_secret"],
        env_config_maps=launcher["env_config_maps"], env_secrets=launcher["env_secrets"],
        env_vars=launcher["env_vars"], labels=launcher["labels"], service_account_name=launcher["service_account_name"],
    )

    job = construct_dagster_k8s_job(
        job_config, ["dagster", "api", "execute_run"], "dagster-run-0",
        user_defined_k8s_config=UserDefinedDagsterK8sConfig.from_dict(launcher["run_k8s_config"]),
    )

    pod = job.spec.template.spec
    [container] = pod.containers
    assert container.image == image
    assert container.resources.requests == {"cpu": "500m", "memory": "1Gi"}
    assert container.resources.limits == {"cpu": "2", "memory": "2Gi"}
    assert container.security_context.run_as_non_root and not container.security_context.allow_privilege_escalation
    assert pod.security_context.run_as_user == 10001
    assert job.spec.backoff_limit == 0
    assert [source.secret_ref.name for source in container.env_from if source.secret_ref] == ["mlops-prod-secrets"]


def test_a_misspelt_kubernetes_field_is_refused_when_the_job_is_built(values):
    launcher = process_config(K8sRunLauncher.config_type(), chart_run_launcher_config(values)).value
    broken = {**launcher["run_k8s_config"], "container_config": {"resourcez": {"limits": {"cpu": "1"}}}}

    with pytest.raises(Exception, match="Unexpected keys"):
        construct_dagster_k8s_job(
            DagsterK8sJobConfig(job_image="img:1", dagster_home="/opt/dagster/dagster_home"), [], "dagster-run-0",
            user_defined_k8s_config=UserDefinedDagsterK8sConfig.from_dict(broken),
        )


def test_a_broken_run_launcher_config_is_refused(values):
    broken = {**chart_run_launcher_config(values), "image_pull_policy": 3, "not_a_field": True}

    assert not process_config(K8sRunLauncher.config_type(), broken).success


def test_the_user_code_deployment_serves_the_code_location_from_the_platform_image(values):
    [deployment] = values["dagster-user-deployments"]["deployments"]
    assert deployment["dagsterApiGrpcArgs"] == ["--module-name", "core_assets.definitions"]
    assert {"name": "MLOPS_ENV", "value": "prod"} in deployment["env"]
    assert "mlops-prod-secrets" in [s["name"] for s in deployment["envSecrets"]]
    assert deployment["image"]["tag"] not in ("", "latest")


def test_storage_and_compute_logs_match_the_prod_env(values):
    settings = load_settings("prod")
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
