"""Closed prediction-log files reach the env's artifact store in prod envs. S3 is moto's server
here (a stand-in: no S3 server can be installed on this machine), spoken to through boto3."""

from __future__ import annotations

import pytest

from mlops_base.settings import load_settings
from mlops_platform import local_storage, processes
from optional_layers.evaluation.archive import archiver
from optional_layers.evaluation.prediction_log import RotatingFile


@pytest.mark.real
def test_a_rotated_log_file_is_moved_to_s3_in_prod_local(tmp_path):
    port = processes.free_port()
    s3 = local_storage.start_s3(port, tmp_path / "s3.log")
    try:
        settings = load_settings(
            "prod-local",
            s3_endpoint_url=s3.url,
            aws_access_key_id=local_storage.MOTO_ACCESS_KEY,
            aws_secret_access_key=local_storage.MOTO_SECRET_KEY,
            mlops_state_dir=tmp_path / "state",
        )
        client = local_storage.s3_client(settings)
        local_storage.ensure_bucket(client, settings.s3_bucket)
        files = RotatingFile(tmp_path / "log", max_bytes=50, on_closed=archiver(settings))
        files.write(b'{"request_id": "a"}\n' * 3)  # past 50 bytes: closed and copied
        files.write(b'{"request_id": "b"}\n')  # the open file stays local
        listed = client.list_objects_v2(Bucket=settings.s3_bucket, Prefix="prediction-log/prod-local/")
        [key] = [item["Key"] for item in listed["Contents"]]
        # verified in S3 (its size), so removed here; the open one stays
        assert key.endswith(".jsonl") and not (tmp_path / "log" / key.rsplit("/", 1)[1]).exists()
        assert len(list((tmp_path / "log").glob("*.jsonl"))) == 1
        body = client.get_object(Bucket=settings.s3_bucket, Key=key)["Body"].read()
        assert body == b'{"request_id": "a"}\n' * 3
    finally:
        processes.stop(s3)


def test_local_envs_keep_the_files_only(tmp_path):
    """A dev env's closed files stay where they were written, whole (the open one beside them)."""
    files = RotatingFile(tmp_path / "log", max_bytes=50, on_closed=archiver(load_settings("dev")))
    files.write(b'{"request_id": "a"}\n' * 3)  # past 50 bytes: closed
    files.write(b'{"request_id": "b"}\n')
    files.close()
    kept = sorted((tmp_path / "log").glob("*.jsonl"))
    assert sorted(path.read_bytes() for path in kept) == [b'{"request_id": "a"}\n' * 3, b'{"request_id": "b"}\n']
