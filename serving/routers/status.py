"""What is loaded, liveness and readiness."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from mlops_base.aliases import CHALLENGER, Alias
from serving.alias_watch import AliasWatch
from serving.data_plane import DataPlane
from serving.dependencies import SettingsDep, ShadowDep, VariantsDep
from serving.protocol import Protocol
from serving.schemas import (
    AliasCheckInfo,
    AliasWatchInfo,
    BatchingInfo,
    ColumnInfo,
    HealthResponse,
    ModelsResponse,
    ModelStatus,
    RampInfo,
    RampResponse,
    RoutingInfo,
)
from serving.traffic_split import configured_split, effective_split
from serving.variants import VariantRegistry

router = APIRouter(tags=["status"])


@router.get("/models", response_model=ModelsResponse)
async def models(settings: SettingsDep, variants: VariantsDep, request: Request) -> ModelsResponse:
    """Per alias: version, run, load time, backend, status and the last load's error; the alias
    watch's checks of the registry. Internal (the cluster's Ingress never routes it): errors name
    registry URLs and artifact paths."""
    statuses = {}
    for variant in variants.variants():
        runtime = variant.runtime
        info = runtime.info if runtime else None
        statuses[variant.alias] = ModelStatus(
            alias=variant.alias,
            status=variant.status,
            version=info.ref.version if info else None,
            run_id=info.ref.run_id if info else None,
            loaded_at=info.loaded_at if info else None,
            backend=runtime.backend if runtime else settings.backend_of(variant.alias),
            n_features=len(info.columns) if info else None,
            flavour=info.flavour if info else None,
            columns=[ColumnInfo(name=c.name, type=c.kind, nullable=not c.required) for c in info.columns]
            if info
            else None,
            positional=info.positional if info else None,
            classes=info.classes if info else None,
            last_error=variant.last_error,
        )
    return ModelsResponse(models=statuses, alias_watch=_alias_watch(request.app.state.alias_watch, variants))


def _alias_watch(watch: AliasWatch, variants: VariantRegistry) -> AliasWatchInfo:
    def when(at: float | None) -> datetime | None:
        return None if at is None else datetime.fromtimestamp(at, UTC)

    return AliasWatchInfo(
        interval_s=watch.interval_s,
        failed_calls=watch.failures,
        aliases={
            alias: AliasCheckInfo(
                registry_version=check.registry_version,
                served_version=variants.served_version(alias),
                checked_at=when(check.checked_at),
                error=check.error,
            )
            for alias, check in watch.checks.items()
        },
    )


def _routing(plane: DataPlane, loaded: set[Alias], challenger: str | None) -> RoutingInfo:
    routing, ramp = plane.routing, plane.ramp()
    return RoutingInfo(
        mode=routing.mode,
        default_alias=routing.default_alias,
        configured_split=configured_split(routing, challenger),
        effective_split=effective_split(routing, loaded, challenger),
        ramp=None if ramp is None else RampInfo(**ramp),
    )


@router.get("/ramp", response_model=RampResponse)
async def ramp(request: Request) -> RampResponse:
    """ALIAS_SELECTION_MODE=ramp: B's share and step, as the registry holds them (every replica
    agrees within ALIAS_POLL_SECONDS), and the ramp sensor's last decision with each guardrail's
    interval. Internal (the cluster's Ingress never routes it)."""
    plane: DataPlane = request.app.state.plane
    return RampResponse(mode=plane.routing.mode, **(plane.ramp() or {}))


@router.get("/health", response_model=HealthResponse)
async def health(settings: SettingsDep, variants: VariantsDep, shadow: ShadowDep, request: Request) -> HealthResponse:
    """Liveness (always 200 while the process runs) and what is being served; no error text (public:
    the cluster's Ingress routes it; the details are on GET /models)."""
    loaded = variants.loaded()
    note = None
    if len(loaded) == 1:
        note = f"only {next(iter(loaded))} is loaded: it answers all traffic"
    elif not loaded:
        note = "no model loaded: /predict answers 503 until a reload succeeds"
    if variants.starting:
        note = "loading the aliases from the registry: /ready and /predict answer 503 until they are in"
    return HealthResponse(
        status="ok",
        loading=variants.starting,
        loaded_variants=sorted(loaded),
        note=note,
        problems=sorted(v.alias for v in variants.variants() if v.last_error),
        in_flight=variants.in_flight(),
        retired_models=variants.retired(),
        routing=_routing(request.app.state.plane, loaded, variants.served_version(CHALLENGER)),
        shadow=shadow.summary() if settings.alias_selection_mode == "shadow" else None,
        batching=BatchingInfo(
            max_rows=settings.batch_max_rows,
            max_wait_us=settings.batch_max_wait_us,
            requests=variants.batch_stats.requests,
            predict_calls=variants.batch_stats.predict_calls,
        ),
    )


@router.get("/ready", responses={503: {"description": "the default alias is not loaded (yet)"}})
async def ready(settings: SettingsDep, variants: VariantsDep):
    """200 once the default alias is loaded (the Kubernetes readiness probe)."""
    if settings.default_alias in variants.loaded():
        return {"ready": True}
    why = "still loading from the registry" if variants.starting else "not loaded"
    return JSONResponse({"ready": False, "detail": f"default alias {settings.default_alias} {why}"}, 503)


PROTOCOL = Protocol("status", router)
