"""Batch scoring as a user runs it: `dagster dev` (the webserver and the daemon, as `./mlops up`
starts them) on the churn example with a real MLflow registry and two partitions' files.

The daemon's `batch_input_sensor` scores both partitions with the champion; a bad row goes to the
rejects file with its reason. After a release, a backfill launched as the UI launches one (GraphQL
`launchPartitionBackfill` for the asset's partitions, run by the daemon's backfill loop) re-scores
both with the new version. A run of a partition with the same version and file writes the same bytes.
A partition whose file the model cannot take fails, and the alerts layer's run failure sensor tells
a webhook (a real local HTTP server, a stand-in for Slack) its job, step, first error line and run."""

from __future__ import annotations

import sys
import time
import uuid
from pathlib import Path

import httpx
import pyarrow.parquet as pq
import pytest
from dagster import AssetKey, AssetRecordsFilter, DagsterInstance

from mlops_base.mlflow_client import bounded_client
from mlops_base.settings import REPO_ROOT, load_settings
from mlops_platform import processes
from mlops_platform.dagster_client import DagsterClient
from mlops_platform.release_watch import wait_for
from mlops_platform.stack import dagster_env, dagster_home
from tests.churn import ENV, register_churn

pytestmark = [pytest.mark.real, pytest.mark.slow]
BATCH = AssetKey("batch_predictions")

BACKFILL = """
mutation Backfill($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message }
  }
}
"""


def _scored(instance: DagsterInstance) -> dict[str, list[dict]]:
    """Each partition's materializations, oldest first: their metadata's values."""
    records = instance.fetch_materializations(AssetRecordsFilter(asset_key=BATCH), limit=100).records
    found: dict[str, list[dict]] = {}
    for record in sorted(records, key=lambda r: r.storage_id):
        event = record.asset_materialization
        found.setdefault(event.partition, []).append({k: v.value for k, v in event.metadata.items()})
    return found


def test_the_sensor_scores_each_partition_and_a_backfill_rescores_them_after_a_release(
    mlflow_server, webhook, tmp_path
):
    name = f"churn-daemon-{uuid.uuid4().hex[:8]}"
    inputs = tmp_path / "in" / "customers-{partition}.parquet"
    overrides = {"batch_input": str(inputs), "batch_partitions": "p1,p2,p3", "mlops_state_dir": tmp_path / "state"}
    settings = load_settings(ENV, mlflow_tracking_uri=mlflow_server, model_name=name, **overrides)
    (v1, v2), customers = register_churn(mlflow_server, name, versions=2, settings=settings)
    inputs.parent.mkdir()
    customers.head(300).to_parquet(str(inputs).format(partition="p1"))
    second = customers.iloc[300:600].reset_index(drop=True).astype({"support_calls": object})
    second.loc[7, "support_calls"] = None  # required: the training data had none missing
    second.to_parquet(str(inputs).format(partition="p2"))
    customers.head(10).rename(columns={"plan": "tier"}).to_parquet(str(inputs).format(partition="p3"))

    port = processes.free_port()
    settings = settings.model_copy(update={"mlflow_port": int(mlflow_server.rsplit(":", 1)[1]), "dagster_port": port})
    env = {
        **dagster_env(settings),
        "MODEL_NAME": name,
        "BATCH_INPUT": str(inputs),
        "BATCH_PARTITIONS": "p1,p2,p3",
        "SLACK_WEBHOOK_URL": webhook[0],
    }
    command = [
        str(Path(sys.executable).parent / "dagster"),
        "dev",
        "-w",
        str(REPO_ROOT / "workspace.yaml"),
        "-h",
        "127.0.0.1",
        "-p",
        str(port),
    ]
    service = processes.start("dagster", command, tmp_path / "dagster.log", f"http://127.0.0.1:{port}", env)
    try:
        processes.wait_until(service, lambda: _answers(f"{service.url}/server_info"), 120)
        with DagsterInstance.from_config(str(dagster_home(settings))) as instance:
            # the daemon's sensor: both files are there, both partitions scored with the champion
            wait_for("both partitions scored by the sensor", lambda: set(_scored(instance)) == {"p1", "p2"}, 180)
            first = {p: runs[-1] for p, runs in _scored(instance).items()}
            assert {p: (m["version"], m["rows"], m["scored"], m["rejected"]) for p, m in first.items()} == {
                "p1": (v1, 300, 300, 0),
                "p2": (v1, 300, 299, 1),
            }
            # p3's file lacks a column: its run failed, and a message says where and why
            failed = ":rotating_light: a run failed: job=batch_job, step=batch_predictions, error="
            wait_for("the failed run's message", lambda: any(failed in m["text"] for m in webhook[1]), 120)
            [told] = [m["text"] for m in webhook[1] if failed in m["text"]]
            assert "partition p3: nothing scored: " in told and "partition=p3" in told and "|Dagster run " in told
            [refused] = pq.read_table(first["p2"]["rejects"]).to_pylist()
            assert (refused["row"], refused["reason"]) == (7, "row 7: column 'support_calls' may not be null")

            # a release, then a backfill of both partitions as the UI launches it
            bounded_client(mlflow_server).set_registered_model_alias(name, "A", v2)
            params = {"assetSelection": [{"path": ["batch_predictions"]}], "partitionNames": ["p1", "p2"]}
            answer = httpx.post(f"{service.url}/graphql", json={"query": BACKFILL, "variables": {"params": params}})
            launched = answer.json()["data"]["launchPartitionBackfill"]
            assert launched["__typename"] == "LaunchBackfillSuccess", launched
            wait_for(
                "both partitions re-scored by the backfill",
                lambda: all(runs[-1]["version"] == v2 for runs in _scored(instance).values()),
                180,
            )
            rescored = {p: runs[-1] for p, runs in _scored(instance).items()}
            assert pq.read_table(rescored["p1"]["output"]).column("model_version").unique().to_pylist() == [v2]

            # the same version and file again: the same bytes
            again = DagsterClient(port).submit("batch_job", tags={"dagster/partition": "p1"})
            assert DagsterClient(port).wait(again, 180) == "SUCCESS"
            [*_, last] = _scored(instance)["p1"]
            assert last["output_sha256"] == rescored["p1"]["output_sha256"] != first["p1"]["output_sha256"]
    finally:
        processes.stop(service)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        time.sleep(0.5)
        return False
