"""The Open Inference Protocol's (KServe v2) bodies, as this server answers them (shown at /docs)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

TensorData = list[Any]


class V2Error(BaseModel):
    """The protocol's error object."""

    error: str


class V2ServerMetadata(BaseModel):
    name: str
    version: str
    extensions: list[str] = Field(description="protocol extensions this server speaks")


class V2TensorMetadata(BaseModel):
    name: str
    datatype: str
    shape: list[int] = Field(description="-1: any number of rows")


class V2ModelMetadata(BaseModel):
    name: str
    versions: list[str] = Field(description="the registry versions this server serves now")
    platform: str = Field(description="mlflow_<flavour>: the MLflow flavour the version was logged with")
    inputs: list[V2TensorMetadata]
    outputs: list[V2TensorMetadata]


class V2Ready(BaseModel):
    name: str
    ready: bool


class V2Live(BaseModel):
    live: bool


class V2ServerReady(BaseModel):
    ready: bool


class V2RequestInput(BaseModel):
    name: str
    shape: list[int]
    datatype: str = Field(description="BOOL, UINT8-64, INT8-64, FP16, FP32, FP64 or BYTES")
    parameters: dict[str, Any] | None = Field(None, description="binary_data_size: its bytes follow the JSON")
    data: TensorData | None = Field(None, description="row-major, flat or nested; absent with binary data")


class V2RequestOutput(BaseModel):
    name: str = Field(description="predict, or predict_proba (classifiers that have it)")
    parameters: dict[str, Any] | None = Field(None, description="binary_data: answer this output as binary")


class V2InferRequest(BaseModel):
    """One input of shape [rows, features] (a positional model), or one input per named column of
    shape [rows] (see the model's metadata). No `outputs`: every output the model has."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "inputs": [{"name": "input-0", "shape": [1, 4], "datatype": "FP64", "data": [5.1, 3.5, 1.4, 0.2]}],
                    "outputs": [{"name": "predict"}],
                }
            ]
        }
    )

    id: str | None = None
    parameters: dict[str, Any] | None = Field(None, description="binary_data_output: every output as binary")
    inputs: list[V2RequestInput]
    outputs: list[V2RequestOutput] | None = None


class V2ResponseOutput(BaseModel):
    name: str
    shape: list[int]
    datatype: str
    parameters: dict[str, Any] | None = Field(None, description="binary_data_size, for a binary output")
    data: TensorData | None = Field(None, description="row-major, flat; absent for a binary output")


class V2InferResponse(BaseModel):
    model_name: str
    model_version: str = Field(description="the registry version that answered")
    id: str | None = None
    outputs: list[V2ResponseOutput]
