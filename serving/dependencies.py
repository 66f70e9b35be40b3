"""`Annotated` dependency aliases shared by the routers (async: sync ones would each take a thread hop)."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request

from mlops_base.settings import Settings
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
    settings: SettingsDep,
    authorization: Annotated[str | None, Header()] = None,
    x_token: Annotated[str | None, Header()] = None,
) -> None:
    """Bearer token (or x-token) compared in constant time; never logged or echoed."""
    supplied = None
    if authorization and authorization.lower().startswith("bearer "):
        supplied = authorization[7:].strip()
    supplied = supplied or x_token
    if not supplied:
        raise HTTPException(401, "reload needs a token: Authorization: Bearer <token>", {"WWW-Authenticate": "Bearer"})
    if not hmac.compare_digest(supplied.encode(), settings.reload_secret_token.encode()):
        raise HTTPException(403, "invalid reload token")


ReloadAuth = Depends(_reload_token)
