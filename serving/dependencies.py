"""`Annotated` dependency aliases shared by the routers (async: sync ones would each take a thread hop)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from mlops_base.settings import Settings
from serving.credentials import Credentials, Scope
from serving.inputs import check_json
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


def credential(scope: Scope):
    """A dependency that admits requests carrying `scope`'s credential (Bearer, or x-token) and
    gives its name (the source of what the request sends)."""

    async def check(
        request: Request,
        authorization: Annotated[str | None, Header()] = None,
        x_token: Annotated[str | None, Header()] = None,
    ) -> str:
        credentials: Credentials = request.app.state.credentials
        client = request.client.host if request.client else "unknown"
        return credentials.check(scope, client, authorization, x_token)

    return Depends(check)


def credential_responses(scope: Scope) -> dict[int, dict[str, str]]:
    """The statuses a route guarded by `credential(scope)` may answer, for its `responses`."""
    return {
        401: {"description": f"no {scope} credential, or an invalid one"},
        403: {"description": "another scope's credential"},
        429: {"description": "too many invalid credentials from this client; see Retry-After"},
    }


ReloadAuth = credential("reload")


async def _json_body(request: Request) -> None:
    """The reload body is optional; when one is sent it must be JSON (415 otherwise)."""
    if request.headers.get("content-length", "0") != "0" or "transfer-encoding" in request.headers:
        check_json(request.headers.get("content-type"))


JsonBody = Depends(_json_body)


async def _scoring_credential(
    request: Request,
    authorization: Annotated[str | None, Header()] = None,
    x_token: Annotated[str | None, Header()] = None,
) -> None:
    """As the hot path admits scoring requests: the predict credential when PREDICT_TOKEN is set."""
    credentials: Credentials = request.app.state.credentials
    if "predict" in credentials.scopes:
        client = request.client.host if request.client else "unknown"
        credentials.check("predict", client, authorization, x_token)


ScoringAuth = Depends(_scoring_credential)
