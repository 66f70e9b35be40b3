"""Token-protected hot-swap of one alias."""

from __future__ import annotations

from fastapi import APIRouter

from mlops_base.aliases import Alias
from serving.dependencies import JsonBody, ReloadAuth, VariantsDep
from serving.protocol import Protocol
from serving.schemas import ErrorResponse, ReloadRequest, ReloadResponse

router = APIRouter(tags=["reload"])


@router.post(
    "/variant/{alias}/reload",
    response_model=ReloadResponse,
    dependencies=[ReloadAuth, JsonBody],
    responses={
        400: {"model": ErrorResponse, "description": "body is not UTF-8 (it cannot be parsed at all)"},
        401: {"model": ErrorResponse, "description": "no reload credential, or an invalid one"},
        403: {
            "model": ErrorResponse,
            "description": "another scope's credential (e.g. the feedback token), or an artifact outside "
            "the allowed roots",
        },
        404: {"model": ErrorResponse, "description": "unknown alias, or not in the registry"},
        409: {"model": ErrorResponse, "description": "the registry disagrees with the expected version"},
        415: {"model": ErrorResponse, "description": "a body declared as something else than JSON"},
        422: {
            "model": ErrorResponse,
            "description": "the artifact does not load, fails its smoke test, or no longer matches its logged digest",
        },
        502: {"model": ErrorResponse, "description": "Triton refused to load the version, or does not report it ready"},
        429: {"model": ErrorResponse, "description": "too many invalid credentials from this client; see Retry-After"},
        503: {"model": ErrorResponse, "description": "registry, or the alias's Triton, unreachable"},
    },
)
async def reload(alias: Alias, variants: VariantsDep, body: ReloadRequest | None = None) -> ReloadResponse:
    """Load what the registry's alias points to, smoke-test it, swap it in; on failure the old model keeps serving."""
    result = await variants.reload(alias, body.version if body else None)
    return ReloadResponse(**result.__dict__)


PROTOCOL = Protocol("hot-swap", router)
