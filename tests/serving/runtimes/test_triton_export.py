"""Registered versions exported to Triton models and served by the real Triton of the
nvidia-pytriton wheel (skips, saying why, where it cannot run): the same predictions as the
in-process runtime for the same version; a version it cannot type is refused before Triton sees it."""

from __future__ import annotations

from pathlib import Path

import httpx
import mlflow.artifacts
import mlflow.sklearn
import numpy as np
import pytest
from mlflow import MlflowClient
from sklearn.datasets import load_iris

from mlops_platform import triton_server as triton
from serving.runtimes.model_meta import read_mlmodel
from serving.runtimes.safe_load import LoadPolicy
from serving.runtimes.triton_export import INPUT, ExportError, config_pbtxt, export, skops_file
from tests.support import TRITON_KEY as KEY


def _download(mlflow_server, model, version, tmp_path):
    source = MlflowClient(mlflow_server).get_model_version(model.name, version).source
    local = mlflow.artifacts.download_artifacts(
        artifact_uri=source, dst_path=str(tmp_path / version), tracking_uri=mlflow_server
    )
    return local, read_mlmodel(Path(local))


def test_each_version_predicts_on_triton_what_it_predicts_in_process(
    triton_server, shared_model, mlflow_server, tmp_path
):
    service, repository = triton_server
    rows = load_iris(as_frame=True).frame.iloc[:, :4].to_numpy(dtype=np.float64)
    for version in shared_model.versions:  # a logistic regression and a depth-1 tree
        local, meta = _download(mlflow_server, shared_model, version, tmp_path)
        trusted_types = LoadPolicy().skops_types(skops_file(Path(local), meta), f"v{version}")
        name = export(Path(local), meta, repository, shared_model.name, version, 10_000, trusted_types)
        loaded = httpx.post(
            f"{service.url}/v2/repository/models/{name}/load", headers={triton.ADMIN_HEADER: KEY}, timeout=120
        )
        assert loaded.status_code == 200, loaded.text
        answer = httpx.post(
            f"{service.url}/v2/models/{name}/infer",
            json={
                "inputs": [
                    {"name": INPUT, "shape": list(rows.shape), "datatype": "FP64", "data": rows.ravel().tolist()}
                ]
            },
            timeout=60,
        )
        assert answer.status_code == 200, answer.text
        in_process = mlflow.sklearn.load_model(local).predict(rows)
        assert answer.json()["outputs"][0]["data"] == in_process.tolist()


def test_the_config_comes_from_the_signature(shared_model, mlflow_server, tmp_path):
    _, meta = _download(mlflow_server, shared_model, shared_model.versions[0], tmp_path)
    config = config_pbtxt("m-v1", meta, max_rows=64)
    assert 'input [ { name: "input-0", data_type: TYPE_FP64, dims: [ 4 ] } ]' in config
    assert 'output [ { name: "predict", data_type: TYPE_INT64, dims: [ 1 ] } ]' in config
    assert "max_batch_size: 64" in config and "dynamic_batching" in config


def test_a_version_without_a_numeric_signature_is_refused(shared_model, mlflow_server, tmp_path):
    _, meta = _download(mlflow_server, shared_model, shared_model.versions[0], tmp_path)
    meta["signature"] = None
    with pytest.raises(ExportError, match="no signature"):
        config_pbtxt("m-v1", meta, max_rows=64)


def test_a_model_with_named_string_or_boolean_columns_is_refused_naming_them(shared_model, mlflow_server, tmp_path):
    from mlflow.models import infer_signature

    _, meta = _download(mlflow_server, shared_model, shared_model.versions[0], tmp_path)
    frame = load_iris(as_frame=True).frame.iloc[:3, :2].assign(plan=["a", "b", "c"], autopay=[True, False, True])
    signature = infer_signature(frame, [0, 1, 2])
    meta["signature"] = {"inputs": signature.inputs.to_json(), "outputs": signature.outputs.to_json()}
    with pytest.raises(
        ExportError, match="Triton serves all-numeric models only; columns plan, autopay are not numbers"
    ):
        config_pbtxt("m-v1", meta, max_rows=64)
