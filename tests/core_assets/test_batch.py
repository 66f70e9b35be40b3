"""`batch_predictions` in real runs: a real MLflow registry with the churn example registered twice,
the partitions' input files on disk, runs executed by Dagster into a real instance.

The sensor asks for the partitions whose file is there (again when a file changes) and reports the
version BATCH_ALIAS names; a run scores its partition with that version, pinned, its metadata
saying what it did and the version's data in the materialization (what the UI's staleness reads);
a new version on the alias is reported, and with BATCH_RESCORE_ON_RELEASE declarative automation
re-scores the partitions scored before (and only those); a run without an input file fails saying
so. With S3 URIs (prod-local's endpoint: moto's server, a stand-in, no S3 server installs here) the
sensor sees the object and the run reads and writes S3, the same bytes as from a local file."""

from __future__ import annotations

import hashlib
import os
import uuid

import pyarrow.parquet as pq
import pytest
from dagster import (
    AssetKey,
    DagsterInstance,
    RunRequest,
    SensorResult,
    build_sensor_context,
    evaluate_automation_conditions,
)

from core_assets.definitions import build_definitions
from layer_api.manager import LayerManager
from mlops_base.mlflow_client import bounded_client
from mlops_base.settings import load_settings
from mlops_platform import local_storage, processes
from tests.churn import ENV, register_churn
from tests.core_assets.runs import resources

pytestmark = pytest.mark.real
BATCH = AssetKey("batch_predictions")


@pytest.fixture
def churn(mlflow_server, tmp_path):
    """Settings of the churn env pointed at the test registry, a model of this test's own with two
    versions (A on the first), and its customers split into two partitions' files (p2's missing)."""
    name = f"churn-batch-{uuid.uuid4().hex[:8]}"
    settings = load_settings(
        ENV,
        mlflow_tracking_uri=mlflow_server,
        model_name=name,
        mlops_state_dir=tmp_path / "state",
        batch_input=str(tmp_path / "in" / "customers-{partition}.parquet"),
        batch_partitions="p1,p2",
        batch_rescore_on_release=True,
    )
    versions, customers = register_churn(mlflow_server, name, versions=2, settings=settings)
    (tmp_path / "in").mkdir()
    customers.head(500).to_parquet(tmp_path / "in" / "customers-p1.parquet")
    return settings, versions, bounded_client(mlflow_server)


def _sensor(defs, instance, settings, cursor=None) -> SensorResult:
    sensor = defs.resolve_sensor_def("batch_input_sensor")
    with build_sensor_context(instance=instance, cursor=cursor, resources=resources(settings)) as context:
        return sensor(context)


def test_a_partition_s_file_is_scored_by_the_alias_s_version_and_a_new_version_rescores_it(churn, tmp_path):
    settings, (v1, v2), client = churn
    defs = build_definitions(settings, LayerManager(settings, set()))
    assert defs.resolve_sensor_def("batch_automation")  # a running daemon evaluates the batch group too
    with DagsterInstance.ephemeral() as instance:
        ticked = _sensor(defs, instance, settings)
        assert [(r.partition_key, type(r)) for r in ticked.run_requests] == [("p1", RunRequest)]  # p2 has no file
        [reported] = ticked.asset_events
        assert reported.asset_key == AssetKey("batch_model_version")
        assert reported.tags["dagster/data_version"] == f"v{v1}"
        instance.report_runless_asset_event(reported)
        again = _sensor(defs, instance, settings, ticked.cursor)
        assert not again.asset_events and again.run_requests[0].run_key == ticked.run_requests[0].run_key

        job = defs.resolve_job_def("batch_job")
        scored = job.execute_in_process(instance=instance, partition_key="p1", raise_on_error=False)
        assert scored.success, scored.all_events
        [materialized] = scored.asset_materializations_for_node("batch_predictions")
        meta = {k: v.value for k, v in materialized.metadata.items()}
        assert (meta["version"], meta["rows"], meta["scored"], meta["rejected"]) == (v1, 500, 500, 0)
        output = settings.state_dir / "batch" / "predictions-p1.parquet"
        assert meta["output"] == str(output) and pq.read_table(output).num_rows == 500
        assert set(meta["predictions"]) == {"no", "yes"} and sum(meta["predictions"].values()) == 500
        assert materialized.tags["dagster/input_data_version/batch_model_version"] == f"v{v1}"

        # the champion changes: reported by the sensor, p1 (scored) is requested again, p2 (never) is not
        cursor = evaluate_automation_conditions(defs=defs, instance=instance).cursor
        client.set_registered_model_alias(settings.model_name, "A", v2)
        moved = _sensor(defs, instance, settings, ticked.cursor)
        assert moved.asset_events[0].tags["dagster/data_version"] == f"v{v2}"
        instance.report_runless_asset_event(moved.asset_events[0])
        result = evaluate_automation_conditions(defs=defs, instance=instance, cursor=cursor)
        assert result.get_requested_partitions(BATCH) == {"p1"}

        rescored = job.execute_in_process(instance=instance, partition_key="p1", raise_on_error=False)
        [again] = rescored.asset_materializations_for_node("batch_predictions")
        assert again.metadata["version"].value == v2 and again.metadata["model"].value.endswith(f"/versions/{v2}")

        # a changed input file is a new run key; a partition without its file fails, saying so
        os.utime(tmp_path / "in" / "customers-p1.parquet", ns=(1, 1))
        assert _sensor(defs, instance, settings).run_requests[0].run_key != ticked.run_requests[0].run_key
        missing = job.execute_in_process(instance=instance, partition_key="p2", raise_on_error=False)
        [failure] = [e for e in missing.all_events if e.event_type_value == "STEP_FAILURE"]
        assert "partition p2: nothing scored: no input file " in failure.event_specific_data.error.message


def test_a_partition_in_s3_is_seen_and_scored_to_s3_with_the_bytes_of_a_local_file(mlflow_server, tmp_path):
    name = f"churn-s3-{uuid.uuid4().hex[:8]}"
    s3 = local_storage.start_s3(processes.free_port(), tmp_path / "s3.log")
    try:
        credentials = {"aws_access_key_id": local_storage.MOTO_ACCESS_KEY}
        credentials["aws_secret_access_key"] = local_storage.MOTO_SECRET_KEY
        settings = load_settings(
            ENV,
            mlflow_tracking_uri=mlflow_server,
            model_name=name,
            mlops_state_dir=tmp_path / "state",
            s3_endpoint_url=s3.url,
            batch_input="s3://batch/in/customers-{partition}.parquet",
            batch_output="s3://batch/out/predictions-{partition}.parquet",
            batch_partitions="p1",
            **credentials,
        )
        _, customers = register_churn(mlflow_server, name, settings=settings)
        client = local_storage.s3_client(settings)
        local_storage.ensure_bucket(client, "batch")
        source = tmp_path / "customers.parquet"
        customers.head(400).to_parquet(source)
        client.upload_file(str(source), "batch", "in/customers-p1.parquet")

        defs = build_definitions(settings, LayerManager(settings, set()))
        with DagsterInstance.ephemeral() as instance:
            assert [r.partition_key for r in _sensor(defs, instance, settings).run_requests] == ["p1"]
            scored = defs.resolve_job_def("batch_job").execute_in_process(instance=instance, partition_key="p1")
            [materialized] = scored.asset_materializations_for_node("batch_predictions")
        meta = {k: v.value for k, v in materialized.metadata.items()}
        assert (meta["rows"], meta["output"]) == (400, "s3://batch/out/predictions-p1.parquet")
        written = client.get_object(Bucket="batch", Key="out/predictions-p1.parquet")["Body"].read()
        assert hashlib.sha256(written).hexdigest() == meta["output_sha256"]

        local = settings.model_copy(update={"batch_input": str(tmp_path / "{partition}.parquet")})
        source.rename(tmp_path / "p1.parquet")
        defs = build_definitions(local, LayerManager(local, set()))
        with DagsterInstance.ephemeral() as instance:
            again = defs.resolve_job_def("batch_job").execute_in_process(instance=instance, partition_key="p1")
            [from_disk] = again.asset_materializations_for_node("batch_predictions")
        assert from_disk.metadata["output_sha256"].value == meta["output_sha256"]
    finally:
        processes.stop(s3)
