"""The Open Inference Protocol (KServe v2) over REST: what Triton, KServe, MLServer and OpenVINO
speak, so `tritonclient` and other v2 clients point at this server unchanged.

`{model_name}` is MODEL_NAME. Without a version a request is routed like `/predict` (sticky per
`x-client-id`); `versions/{model_version}` is a registry version this server serves now, or an
alias (`A`, `B`). Errors are the protocol's `{"error": ...}` (see `serving.errors`).
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib.metadata import version as package_version
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request, Response

from mlops_base.aliases import ALIASES, Alias
from mlops_base.echo import quoted
from mlops_base.settings import Settings
from serving.data_plane import DataPlane
from serving.dependencies import SettingsDep, VariantsDep
from serving.inputs import decompress
from serving.openapi_doc import CLIENT_ID_HEADER
from serving.protocol import HotRoute, Protocol
from serving.reply import Headers, Reply, reply_of, response_of
from serving.runtimes.base import RuntimeInfo
from serving.v2_infer import POSITIONAL_INPUT, infer_response, parse_infer
from serving.v2_schemas import (
    V2Error,
    V2InferRequest,
    V2InferResponse,
    V2Live,
    V2ModelMetadata,
    V2Ready,
    V2ServerMetadata,
    V2ServerReady,
)
from serving.v2_tensors import HEADER_LENGTH, datatype_of
from serving.variants import VariantRegistry

router = APIRouter(prefix="/v2", tags=["open inference protocol (v2)"])

KIND_DATATYPES = {"number": "FP64", "string": "BYTES", "boolean": "BOOL"}
NOT_FOUND = {404: {"model": V2Error, "description": "not this server's model, or a version it does not serve"}}
NOT_LOADED = {503: {"model": V2Error, "description": "that version's alias has no model loaded (yet)"}}
INFER_RESPONSES = {
    200: {
        "model": V2InferResponse,
        "description": "the outputs; with binary outputs, `Inference-Header-Content-Length` bytes of JSON then data",
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    },
    400: {"model": V2Error, "description": "invalid input, named in `error` (input and element)"},
    **NOT_FOUND,
    413: {"model": V2Error, "description": "body too large"},
    415: {"model": V2Error, "description": "a content encoding other than gzip or deflate"},
    **NOT_LOADED,
    504: {"model": V2Error, "description": "with parameters.explain: no explanation within EXPLAIN_TIMEOUT_S"},
}
REQUEST_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/V2InferRequest"}},
            "application/octet-stream": {
                "schema": {"type": "string", "format": "binary"},
                "description": "binary tensor data: `Inference-Header-Content-Length` bytes of JSON, then each "
                "input's `binary_data_size` bytes in order",
            },
        },
    }
}
ROUTED_PARAMETERS = [
    {"name": "model_name", "in": "path", "required": True, "schema": {"type": "string"}},
    CLIENT_ID_HEADER,
]
SCHEMAS = [V2InferRequest]  # read from the body by hand, so added to the OpenAPI components by the app
VersionPath = Annotated[str, Path(description="a registry version served now, or an alias: A, B")]


def _check_name(settings: Settings, model_name: str) -> None:
    if model_name != settings.model_name:
        raise HTTPException(
            404, f"unknown model {quoted(model_name)}; this server serves {quoted(settings.model_name)}"
        )


def _served(variants: VariantRegistry) -> dict[Alias, str]:
    return {alias: version for alias in ALIASES if (version := variants.served_version(alias)) is not None}


def _alias(settings: Settings, variants: VariantRegistry, model_name: str, model_version: str) -> Alias:
    """The alias a version path addresses: the alias itself, or the one serving that registry version
    (the default alias first, when both do)."""
    _check_name(settings, model_name)
    if model_version in ALIASES:
        return Alias(model_version)
    served = _served(variants)
    for alias in sorted(served, key=lambda a: a != settings.default_alias):
        if served[alias] == model_version:
            return alias
    now = ", ".join(f"{alias}=v{version}" for alias, version in served.items()) or "none"
    raise HTTPException(404, f"{model_name} version {quoted(model_version)} is not served here (served: {now})")


def _info(variants: VariantRegistry, alias: Alias) -> RuntimeInfo:
    runtime = variants.get(alias).runtime
    if runtime is None or runtime.info is None:
        raise HTTPException(503, f"alias {alias} has no model loaded")
    return runtime.info


def _metadata(settings: Settings, variants: VariantRegistry, info: RuntimeInfo) -> V2ModelMetadata:
    if info.positional:
        inputs = [{"name": POSITIONAL_INPUT, "datatype": "FP64", "shape": [-1, len(info.columns)]}]
    else:
        inputs = [{"name": c.name, "datatype": KIND_DATATYPES[c.kind], "shape": [-1]} for c in info.columns]
    predicts = datatype_of(info.predicts) if info.predicts is not None else "FP64"
    outputs = [{"name": "predict", "datatype": predicts, "shape": [-1]}]
    if info.classes is not None:
        outputs.append({"name": "predict_proba", "datatype": "FP64", "shape": [-1, len(info.classes)]})
    return V2ModelMetadata(
        name=settings.model_name,
        versions=sorted(set(_served(variants).values()), key=int),
        platform=f"mlflow_{info.flavour}",
        inputs=inputs,
        outputs=outputs,
    )


async def infer_on(plane: DataPlane, params: Mapping[str, str], body: bytes, headers: Headers) -> Reply:
    """An infer request to the model (routed, sticky per `x-client-id`) or to one of its served versions
    (`model_version` among the path parameters)."""
    settings, model_name, version = plane.settings, params["model_name"], params.get("model_version")
    if version is None:
        _check_name(settings, model_name)
    alias = None if version is None else _alias(settings, plane.variants, model_name, version)
    body = decompress(body, headers.get("content-encoding"), settings.max_body_bytes)
    parsed = parse_infer(body, headers.get(HEADER_LENGTH), plane.other_forms)
    shadow = None
    if alias is None:
        answer, shadow = await plane.predict(parsed.inputs, headers.get("x-client-id"))
    else:
        answer = await plane.predict_alias(alias, parsed.inputs)
    probabilities = answer.probabilities[1] if answer.probabilities is not None else None
    content, header_length = infer_response(
        settings.model_name, answer.info.ref.version, parsed, answer.predictions, probabilities, answer.explanation
    )
    if header_length is None:
        return reply_of(answer, content, shadow)
    extra = (("inference-header-content-length", str(header_length)),)
    return reply_of(answer, content, shadow, "application/octet-stream", extra)


# Served by `serving.hot_path`; these routes document them (and answer when the app runs without it).
@router.post(
    "/models/{model_name}/infer",
    response_model=None,
    responses=INFER_RESPONSES,
    openapi_extra={**REQUEST_BODY, "parameters": ROUTED_PARAMETERS},
)
async def infer(request: Request) -> Response:
    """Score on the alias the routing mode picks for this client (sticky per `x-client-id`)."""
    plane = request.app.state.plane
    return response_of(await infer_on(plane, request.path_params, await request.body(), request.headers))


@router.post(
    "/models/{model_name}/versions/{model_version}/infer",
    response_model=None,
    responses=INFER_RESPONSES,
    openapi_extra=REQUEST_BODY,
)
async def infer_version(model_name: str, model_version: VersionPath, request: Request) -> Response:
    """Score on one served version (a registry version, or an alias)."""
    plane = request.app.state.plane
    return response_of(await infer_on(plane, request.path_params, await request.body(), request.headers))


@router.get("", response_model=V2ServerMetadata)
async def server_metadata() -> V2ServerMetadata:
    """The server's name, version and the protocol extensions it speaks."""
    return V2ServerMetadata(
        name="mlops-platform", version=package_version("mlops-platform"), extensions=["binary_tensor_data"]
    )


@router.get("/", response_model=V2ServerMetadata, include_in_schema=False)
async def server_metadata_slash() -> V2ServerMetadata:
    return await server_metadata()


@router.get("/health/live", response_model=V2Live)
async def live() -> V2Live:
    """The process answers (a liveness probe)."""
    return V2Live(live=True)


@router.get(
    "/health/ready",
    response_model=V2ServerReady,
    responses={503: {"model": V2Error, "description": "the default alias is not loaded (yet)"}},
)
async def ready(settings: SettingsDep, variants: VariantsDep) -> V2ServerReady:
    """Ready when the default alias is loaded (as `/ready`)."""
    _info(variants, settings.default_alias)
    return V2ServerReady(ready=True)


@router.get("/models/{model_name}", response_model=V2ModelMetadata, responses={**NOT_FOUND, **NOT_LOADED})
async def model_metadata(model_name: str, settings: SettingsDep, variants: VariantsDep) -> V2ModelMetadata:
    """Inputs and outputs (name, datatype, shape) of the default alias's version, from its signature."""
    _check_name(settings, model_name)
    return _metadata(settings, variants, _info(variants, settings.default_alias))


@router.get(
    "/models/{model_name}/versions/{model_version}",
    response_model=V2ModelMetadata,
    responses={**NOT_FOUND, **NOT_LOADED},
)
async def version_metadata(
    model_name: str, model_version: VersionPath, settings: SettingsDep, variants: VariantsDep
) -> V2ModelMetadata:
    """Inputs and outputs of one served version (a registry version, or an alias)."""
    alias = _alias(settings, variants, model_name, model_version)
    return _metadata(settings, variants, _info(variants, alias))


@router.get("/models/{model_name}/ready", response_model=V2Ready, responses={**NOT_FOUND, **NOT_LOADED})
async def model_ready(model_name: str, settings: SettingsDep, variants: VariantsDep) -> V2Ready:
    """Ready when the default alias is loaded."""
    _check_name(settings, model_name)
    _info(variants, settings.default_alias)
    return V2Ready(name=model_name, ready=True)


@router.get(
    "/models/{model_name}/versions/{model_version}/ready",
    response_model=V2Ready,
    responses={**NOT_FOUND, **NOT_LOADED},
)
async def version_ready(
    model_name: str, model_version: VersionPath, settings: SettingsDep, variants: VariantsDep
) -> V2Ready:
    _info(variants, _alias(settings, variants, model_name, model_version))
    return V2Ready(name=model_name, ready=True)


def _error(status: int, message: str) -> tuple[int, dict]:
    """The protocol's `{"error": ...}`, and its 400 for input it cannot take (422 elsewhere)."""
    return 400 if status == 422 else status, {"error": message}


def _document(openapi: dict, loaded: Mapping[str, RuntimeInfo], settings: Settings) -> None:
    """The names and versions this server serves now, and the protocol's 400 for bad input (never
    FastAPI's 422)."""
    values = {
        "model_name": [settings.model_name],
        "model_version": [*ALIASES, *sorted({info.ref.version for info in loaded.values()}, key=int)],
    }
    for path, operations in openapi["paths"].items():
        if PROTOCOL.owns(path):
            for operation in operations.values():
                operation.get("responses", {}).pop("422", None)
                for parameter in operation.get("parameters", []):
                    if parameter["in"] == "path" and parameter["name"] in values:
                        parameter["schema"]["enum"] = values[parameter["name"]]


PROTOCOL = Protocol(
    "open inference protocol (v2)",
    router,
    hot_routes=(
        HotRoute("/v2/models/{model_name}/infer", infer_on),
        HotRoute("/v2/models/{model_name}/versions/{model_version}/infer", infer_on),
    ),
    schemas=tuple(SCHEMAS),
    error_shape=_error,
    document=_document,
)
