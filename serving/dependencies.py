"""`Annotated` dependency aliases shared by the routers (async: sync ones would each take a thread hop)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request

from mlops_base.settings import Settings
from serving.inputs import check_json
from serving.reload_guard import ReloadGuard
from serving.shadow import ShadowStats
from serving.variants import VariantRegistry


async def _settings(request: Request) -> Settings:
    return request.app.state.settings


async def _variants(request: Request) -> VariantRegistry:
    return request.app.state.variants


async def _shadow(request: Request) -> ShadowStats:
    return request.app.state.shadow


SettingsDep = Annotated[Settings, Depends(_settings)]
VariantsDep = Annotated[VariantRegistry, Depends(_variants)]
ShadowDep = Annotated[ShadowStats, Depends(_shadow)]


async def _reload_token(
    request: Request,
    authorization: Annotated[str | None, Header()] = None,
    x_token: Annotated[str | None, Header()] = None,
) -> None:
    """Bearer token (or x-token) compared in constant time; never logged or echoed."""
    guard: ReloadGuard = request.app.state.reload_guard
    client = request.client.host if request.client else "unknown"
    wait_s = guard.retry_after(client)
    if wait_s is not None:
        raise HTTPException(
            429, f"too many wrong reload tokens from {client}; retry in {wait_s} s", {"Retry-After": str(wait_s)}
        )
    supplied = None
    if authorization and authorization.lower().startswith("bearer "):
        supplied = authorization[7:].strip()
    supplied = supplied or x_token
    if not supplied:
        raise HTTPException(401, "reload needs a token: Authorization: Bearer <token>", {"WWW-Authenticate": "Bearer"})
    if not guard.accepts(client, supplied):
        raise HTTPException(403, "invalid reload token")


ReloadAuth = Depends(_reload_token)


async def _json_body(request: Request) -> None:
    """The reload body is optional; when one is sent it must be JSON (415 otherwise)."""
    if request.headers.get("content-length", "0") != "0" or "transfer-encoding" in request.headers:
        check_json(request.headers.get("content-type"))


JsonBody = Depends(_json_body)
