"""MLflow's scoring protocol (also SageMaker's custom-container contract): `GET /ping`, `GET /version`,
`POST /invocations`, routed like `/predict` through the same data plane. A client written for
`mlflow models serve` points at this server unchanged."""

from __future__ import annotations

from collections.abc import Mapping
from importlib.metadata import version as package_version

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse

from serving.data_plane import DataPlane
from serving.dependencies import SettingsDep, VariantsDep
from serving.inputs import decompress
from serving.mlflow_forms import parse_invocation, predictions_bytes
from serving.openapi_doc import CLIENT_ID_HEADER, invocation_forms
from serving.protocol import HotRoute, Protocol
from serving.reply import Headers, Reply, reply_of, response_of
from serving.schemas import ErrorResponse, InvocationsResponse

router = APIRouter(tags=["mlflow scoring protocol"])

INVOCATION_FORMS = {
    "dataframe_split": {"$ref": "#/components/schemas/DataframeSplitRequest"},
    "dataframe_records": {"$ref": "#/components/schemas/DataframeRecordsRequest"},
}
REQUEST_BODY = {
    "requestBody": {
        "required": True,
        "description": "MLflow's forms: `dataframe_split`, `dataframe_records`, `instances` or `inputs` (rows as "
        "lists, records, or an object of column lists), or `text/csv` with a header row",
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/InvocationsRequest"}},
            "text/csv": {"schema": {"type": "string", "description": "a header row of column names, then rows"}},
        },
    }
}


@router.get("/ping", responses={503: {"model": ErrorResponse, "description": "the default alias is not loaded"}})
async def ping(settings: SettingsDep, variants: VariantsDep):
    """200 once the default alias is loaded (SageMaker's and `mlflow models serve`'s health check)."""
    if settings.default_alias in variants.loaded():
        return {"ready": True}
    return JSONResponse({"detail": f"default alias {settings.default_alias} is not loaded"}, 503)


@router.get(
    "/version",
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string", "examples": ["3.17.2"]}}}}},
)
async def version() -> str:
    """The MLflow version this server loads models with, as plain text (what `mlflow models serve` answers)."""
    return package_version("mlflow")


@router.post(
    "/invocations",
    response_model=None,
    openapi_extra={**REQUEST_BODY, "parameters": [CLIENT_ID_HEADER]},
    responses={
        200: {"model": InvocationsResponse, "description": "one prediction per row, as `mlflow models serve` answers"},
        400: {"model": ErrorResponse, "description": "body is not UTF-8"},
        413: {"model": ErrorResponse, "description": "body too large"},
        415: {
            "model": ErrorResponse,
            "description": "a content type other than JSON or CSV, or a charset other than UTF-8",
        },
        422: {"model": ErrorResponse, "description": "invalid input, named in `detail`"},
        503: {"model": ErrorResponse, "description": "no model loaded, or its backend (Triton) unreachable"},
    },
)
async def invocations(request: Request) -> Response:
    """Score rows on the alias the routing mode picks for this client, in MLflow's request and answer forms."""
    return response_of(await invoke(request.app.state.plane, {}, await request.body(), request.headers))


async def invoke(plane: DataPlane, _: Mapping[str, str], body: bytes, headers: Headers) -> Reply:
    if "content-encoding" in headers:
        body = decompress(body, headers["content-encoding"], plane.settings.max_body_bytes)
    inputs = parse_invocation(body, headers.get("content-type"), plane.other_forms)
    answer, shadow = await plane.predict(inputs, headers.get("x-client-id"))
    return reply_of(answer, predictions_bytes(answer.predictions), shadow)


PROTOCOL = Protocol(
    "mlflow scoring",
    router,
    hot_routes=(HotRoute("/invocations", invoke),),
    document=invocation_forms,
)
