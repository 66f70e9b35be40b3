"""The prod storage stack on one machine, as `./mlops up --env prod-local` starts it.

Real: PostgreSQL (Debian's, its own data dir, stopped by PID), the MLflow server on Postgres with
S3 artifacts proxied through it, `dagster dev` (webserver, daemon and sensors) on Postgres with the
S3 IO manager and S3 compute logs, and the model server. The S3 endpoint is moto in server mode, a
stand-in: no S3 server can be installed on these machines. Tests run in file order: the last one
takes the S3 endpoint down.
"""

from __future__ import annotations

import pickle
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg2
import pytest
from dagster import DagsterEventType, DagsterInstance, RunsFilter
from dagster_graphql import DagsterGraphQLClientError

from core_assets.release.history import alias_moves
from core_assets.release.levers import rollback_run_config
from mlops_base.aliases import Alias
from mlops_base.mlflow_client import bounded_client
from mlops_base.settings import Settings, load_settings
from mlops_platform import local_storage, processes, stack
from mlops_platform.dagster_client import DagsterClient
from mlops_platform.release_watch import served_version, wait_for
from mlops_platform.verbs.materialize import materialize
from tests.support import ROW, listening_addresses

pytestmark = [pytest.mark.real, pytest.mark.slow]  # PostgreSQL, the S3 endpoint, MLflow, uvicorn

REGISTER_ONLY = "*registered_model_version"  # upstream of it, itself included: no release


@dataclass
class Stack:
    settings: Settings
    services: list[processes.Service]
    environ: pytest.MonkeyPatch  # what a Dagster process of the env sees; undone when the module ends

    def service(self, name: str) -> processes.Service:
        return next(s for s in self.services if s.name == name)

    def replace(self, old: processes.Service, new: processes.Service) -> None:
        self.services[self.services.index(old)] = new

    @property
    def serving_url(self) -> str:
        return self.service("serving").url

    def instance(self) -> DagsterInstance:
        """The platform's own instance (on Postgres), as a Dagster process of the env loads it."""
        for name, value in stack.dagster_env(self.settings).items():
            self.environ.setenv(name, value)
        return DagsterInstance.from_config(str(stack.dagster_home(self.settings)))

    def bucket(self) -> dict[str, int]:
        pages = (
            local_storage.s3_client(self.settings)
            .get_paginator("list_objects_v2")
            .paginate(Bucket=self.settings.s3_bucket)
        )
        return {item["Key"]: item["Size"] for page in pages for item in page.get("Contents", [])}

    def read_object(self, key: str) -> bytes:
        answer = local_storage.s3_client(self.settings).get_object(Bucket=self.settings.s3_bucket, Key=key)
        return answer["Body"].read()

    def registry_rows(self) -> list[tuple[str, str]]:
        """(version, source) rows of the model in MLflow's Postgres database."""
        with psycopg2.connect(local_storage.postgres(self.settings).dsn("mlflow")) as connection:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT version, source FROM model_versions WHERE name = %s ORDER BY version",
                    (self.settings.model_name,),
                )
                return [(str(v), s) for v, s in cursor.fetchall()]

    def newest_version(self) -> str:
        client = bounded_client(self.settings.mlflow_tracking_uri)
        return max((v.version for v in client.search_model_versions(f"name='{self.settings.model_name}'")), key=int)


@pytest.fixture(scope="module")
def prod(request) -> Stack:
    # PostgreSQL runs as its own user, which cannot enter pytest's 0700 temp dirs
    root = Path(tempfile.mkdtemp(prefix="mlops-prod-local-"))
    root.chmod(0o755)
    free = processes.free_port
    mlflow_port, serving_port = free(), free()
    settings = load_settings(
        "prod-local",
        mlops_state_dir=root,
        postgres_port=free(),
        mlflow_port=mlflow_port,
        serving_port=serving_port,
        dagster_port=free(),
        s3_endpoint_url=f"http://127.0.0.1:{free()}",
        mlflow_tracking_uri=f"http://127.0.0.1:{mlflow_port}",
        serving_url=f"http://127.0.0.1:{serving_port}",
        mlflow_allowed_hosts="",
    )
    services = stack.start_platform(settings)
    environ = pytest.MonkeyPatch()
    try:
        yield Stack(settings, services, environ)
    finally:
        environ.undo()
        stack.stop_platform(services)
        shutil.rmtree(root, ignore_errors=True)


def test_every_process_listens_on_loopback_only(prod):
    """PostgreSQL, the S3 endpoint, MLflow, the model server and `dagster dev` (webserver, daemon,
    code server), each with its children: no socket on a routable address. First in the module:
    later tests restart services."""
    for service in prod.services:
        addresses = listening_addresses(service.process.pid)
        assert addresses, f"{service.name} listens on nothing?"
        assert {host for host, _ in addresses} <= {"127.0.0.1", "::1"}, (service.name, addresses)


def test_materialize_all_puts_the_registry_in_postgres_and_artifacts_values_and_logs_in_the_bucket(prod):
    assert materialize(prod.settings, "*") == 0  # the UI's "Materialize all", through the CLI

    version = prod.newest_version()
    [run] = prod.instance().get_runs(RunsFilter(job_name="__ASSET_JOB"), limit=1)
    objects = prod.bucket()
    # registry rows in Postgres; the version's model files in the bucket, behind the MLflow server
    assert [v for v, _ in prod.registry_rows()] == [version]
    model_id = prod.registry_rows()[0][1].removeprefix("models:/")
    assert f"mlflow/1/models/{model_id}/artifacts/model.skops" in objects
    # asset values through the S3 IO manager
    assert {"dagster/features", "dagster/trained_model", "dagster/registered_model_version"} <= set(objects)
    assert pickle.loads(prod.read_object("dagster/registered_model_version"))["version"] == version
    # the run's compute logs
    assert any(key.startswith(f"dagster/compute-logs/storage/{run.run_id}/") for key in objects)
    # and the model server serves it
    assert served_version(prod.serving_url, prod.settings.target_alias) == version


def test_a_second_release_and_a_rollback_record_the_alias_history(prod):
    dag = DagsterClient(prod.settings.dagster_port)
    first = served_version(prod.serving_url, "B")

    assert dag.wait(dag.submit("train_job")) == "SUCCESS"
    second = prod.newest_version()
    assert served_version(prod.serving_url, "B") == second != first
    assert dag.wait(dag.submit("rollback_job", rollback_run_config(Alias.B, first, "e2e rollback"))) == "SUCCESS"

    assert served_version(prod.serving_url, "B") == first
    moves = alias_moves(prod.instance(), alias=Alias.B)
    assert [(m.lever, m.before_version, m.after_version) for m in moves[:3]] == [
        ("rollback", second, first),
        ("release", first, second),
        ("release", None, first),
    ]
    assert moves[0].reason == "e2e rollback"


def _deploys_by_version(instance: DagsterInstance) -> dict[str, int]:
    counts: dict[str, int] = {}
    for run in instance.get_runs(RunsFilter(job_name="deploy_job")):
        counts[run.tags["mlops/version"]] = counts.get(run.tags["mlops/version"], 0) + 1
    return counts


def _submit(dag: DagsterClient, job: str) -> str:
    """Launch a run through the webserver. After a Postgres restart, each connection the webserver
    pooled before it fails its next request once (SQLAlchemy then drops it): retry those only."""
    for _ in range(5):
        try:
            return dag.submit(job)
        except DagsterGraphQLClientError as exc:
            if "server closed the connection unexpectedly" not in str(exc):
                raise
    raise AssertionError("the webserver never reconnected to Postgres")


def test_postgres_restarted_under_the_readiness_sensor_neither_repeats_nor_skips_a_deploy(prod):
    assert materialize(prod.settings, REGISTER_ONLY) == 0  # registered, not released: the sensor's case
    before_restart = prod.newest_version()
    wait_for(
        f"the sensor to serve v{before_restart}",
        lambda: served_version(prod.serving_url, "B") == before_restart,
        timeout_s=120,
    )

    old = prod.service("postgres")
    processes.stop(old)
    assert not local_storage.postgres(prod.settings).accepts_connections()
    prod.replace(old, local_storage.postgres(prod.settings).start(old.log_path))

    assert materialize(prod.settings, REGISTER_ONLY) == 0
    after_restart = prod.newest_version()
    wait_for(
        f"the sensor to serve v{after_restart}",
        lambda: served_version(prod.serving_url, "B") == after_restart,
        timeout_s=120,
    )

    instance = prod.instance()
    deploys = _deploys_by_version(instance)
    assert deploys == {before_restart: 1, after_restart: 1}, deploys
    # the cursor lives in Postgres, past both versions' registrations
    [state] = [s for s in instance.all_instigator_state() if s.name == "readiness_sensor"]
    assert state.instigator_data.cursor


def test_the_s3_endpoint_down_fails_the_run_naming_the_bucket_and_changes_nothing(prod):
    if served_version(prod.serving_url, "B") is None:  # run alone: release one first
        assert materialize(prod.settings, "*") == 0
    client = bounded_client(prod.settings.mlflow_tracking_uri)
    versions = {v.version for v in client.search_model_versions(f"name='{prod.settings.model_name}'")}
    served = served_version(prod.serving_url, "B")
    processes.stop(prod.service("s3"))

    dag = DagsterClient(prod.settings.dagster_port)
    run_id = _submit(dag, "train_job")

    assert dag.wait(run_id) == "FAILURE"
    [failure] = prod.instance().all_logs(run_id, of_type=DagsterEventType.STEP_FAILURE)
    message = failure.dagster_event.step_failure_data.user_failure_data.description
    assert f"S3 bucket {prod.settings.s3_bucket!r} unreachable while writing" in message
    assert {v.version for v in client.search_model_versions(f"name='{prod.settings.model_name}'")} == versions
    assert served_version(prod.serving_url, "B") == served
    answer = httpx.post(f"{prod.serving_url}/variant/B/predict", json={"data": [ROW]}, timeout=10)
    assert answer.status_code == 200 and answer.json()["version"] == served
