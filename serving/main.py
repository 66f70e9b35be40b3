"""The model server: `uvicorn --factory serving.main:create_app`."""

# ruff: noqa: E402 - the cyclic collector is off while the modules below are imported
from __future__ import annotations

import asyncio
import gc
import logging
import warnings
from contextlib import asynccontextmanager
from functools import partial

# The imports below make ~200,000 tracked objects that live as long as the process; the cyclic
# collector walked them again and again as they came (0.25 s of the server's start: 1.61 -> 1.37 s
# to import the server and skops, measured), then once more at its first full collection (75 ms).
# Off while they load, then they are frozen (never walked again) and the collector is as it was.
_COLLECTING = gc.isenabled()
gc.disable()

from serving.lean_imports import import_pandas_without_pyarrow

import_pandas_without_pyarrow()

# scipy.special, then scikit-learn, before the web stack: loading a model, skops names ~420 ufuncs
# (most of them scipy.special's) by scanning the loaded modules in import order
# (`skops.io._utils.whichmodule`); the earlier their module in that order, the sooner each scan
# ends: 0.53 -> 0.20 s with scikit-learn first, 0.29 -> 0.18 s more with scipy.special first
import scipy.special  # noqa: F401
import sklearn.base  # noqa: F401

# isort: split
from anyio import to_thread
from fastapi import FastAPI
from pydantic.warnings import UnsupportedFieldAttributeWarning

from layer_api.manager import LayerManager, build_manager
from mlops_base import log_context, tracing
from mlops_base.credentials import WEAK_TOKENS, weakness
from mlops_base.settings import Settings, SettingsError, load_settings
from serving import errors, openapi_doc
from serving.alias_watch import AliasWatch
from serving.credentials import Credentials, configured
from serving.data_plane import DataPlane
from serving.hot_path import HotPath, ModelServerApp
from serving.model_source import ModelSource, RegistrySource
from serving.protocol import HotRoutes
from serving.protocols import CORE_PROTOCOLS
from serving.request_id import RequestId
from serving.request_log import RequestLog
from serving.routing_watch import INTERVAL_S as ROUTING_INTERVAL_S
from serving.routing_watch import RoutingWatch
from serving.runtimes.base import RuntimeInfo
from serving.runtimes.factory import RuntimeFactory, runtime_factory
from serving.served_view import Served
from serving.shadow import ShadowStats
from serving.traffic_split import Routing
from serving.variants import VariantRegistry

log = logging.getLogger("serving.main")

gc.freeze()
if _COLLECTING:
    gc.enable()

# probes and scrapes: not traced, and logged only when they fail
UNTRACED = "/health,/ready,/metrics,/v2/health/live,/v2/health/ready"
# pydantic >= 2.12 warns, now and then at start-up, that the aliases of FastAPI's path parameters
# (`model_name`, `model_version` of the v2 routes) have no effect: a false positive for FastAPI's
# parameter copies (pydantic/pydantic#12356); they work (tested), the line only polluted the log
warnings.filterwarnings("ignore", category=UnsupportedFieldAttributeWarning, message="The 'alias' attribute")


def check_serving_settings(settings: Settings) -> None:
    settings.require_secrets("serving")
    if settings.mlops_env != "dev" and settings.reload_secret_token.lower() in WEAK_TOKENS:
        raise SettingsError(f"env {settings.mlops_env!r} refuses a default RELOAD_SECRET_TOKEN; set a secret one")
    for credential in configured(settings):
        why = weakness(credential.token.decode())
        if credential.scope != "reload" and why is not None:
            raise SettingsError(
                f"{credential.scope} credential {credential.name!r} is too weak ({why}); set a random one"
            )
    if settings.uses_triton and not settings.triton_url:
        raise SettingsError(
            "a variant is served by Triton but TRITON_URL is not set (`./mlops up` starts Triton and sets it)"
        )


def check_registry_uri(uri: str) -> None:
    """The server reads the registry over MLflow's REST API: a `sqlite:` or file URI (enough for
    Dagster and MLflow's own clients) cannot work here, said at start rather than as "unreachable"."""
    if not uri.startswith(("http://", "https://")):
        scheme = uri.split(":", 1)[0] if ":" in uri else "a path"
        raise SettingsError(
            f"MLFLOW_TRACKING_URI={scheme}:... cannot serve: the model server reads the registry over MLflow's "
            "REST API; point it at an MLflow server (http(s)://host:port, e.g. `./mlops mlflow-server`)"
        )


def apply_routing(app: FastAPI, plane: DataPlane, settings: Settings) -> None:
    """New routing settings from the env's file: every reader of the settings and the data plane's
    split see them from the next request on."""
    app.state.settings = plane.settings = settings
    plane.routing = Routing.of(settings, plane.routing.ramp)


async def follow_routing(watch: RoutingWatch) -> None:
    while True:
        await asyncio.sleep(ROUTING_INTERVAL_S)
        try:
            await to_thread.run_sync(watch.check)
        except Exception:  # the watch outlives one bad read; the routing stays
            log.exception("routing watch check failed")


def create_app(
    settings: Settings | None = None,
    layers: LayerManager | None = None,
    source: ModelSource | None = None,
    new_runtime: RuntimeFactory | None = None,
) -> FastAPI:
    """The model server of `settings`; uvicorn calls it without, and the env is decided here, once.

    Its dependencies are handed in, or built here from the settings: the layer manager of the env's
    `layers.yaml`, the model source (the env's MLflow registry) and each alias's runtimes (its backend's).
    """
    if settings is None:  # uvicorn's call: the env is decided here, and a refusal is one line, no traceback
        try:
            return create_app(load_settings(), layers, source, new_runtime)
        except SettingsError as exc:
            raise SystemExit(f"error: {exc}") from None
    check_serving_settings(settings)
    if source is None:
        check_registry_uri(settings.mlflow_tracking_uri)
    layers = layers or build_manager(settings)
    source = source or RegistrySource(settings)
    new_runtime = new_runtime or runtime_factory(settings)

    protocols = (*CORE_PROTOCOLS, *layers.serving_protocols())
    routes = HotRoutes(protocols)
    served = Served(routes)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        variants = served.variants = app.state.variants = VariantRegistry(
            settings, source, new_runtime, on_event=layers.serving_event, observe=layers.batch_observer()
        )
        plane = served.plane = app.state.plane = DataPlane(settings, variants, layers, app.state.shadow)
        plane.record = layers.prediction_recorder()
        watch = served.watch = app.state.alias_watch = AliasWatch(
            settings.alias_poll_seconds, source, variants, on_tags=plane.follow_tags
        )
        # Models load in the background, never at import: the server answers at once, /ready says
        # 503 and /predict 503 until they are in (a registry that is down or slow delays only that).
        # The model's tags first: a replica (re)started mid-ramp routes the current step from its
        # first request, not the first step's share until the watch's first check.
        loading = asyncio.create_task(watch.read_tags_then(variants.load_all()))
        # Everything imported and loaded by then lives as long as the process: keep the cyclic
        # collector from walking it again and again (full collections stalled requests ~100 ms).
        loading.add_done_callback(lambda _: gc.freeze())
        variants.loading = loading
        watching = asyncio.create_task(watch.run()) if settings.alias_poll_seconds else None
        following = asyncio.create_task(follow_routing(RoutingWatch(settings, partial(apply_routing, app, plane))))
        yield
        following.cancel()
        if watching is not None:
            watching.cancel()
        loading.cancel()
        await to_thread.run_sync(variants.close)
        plane.explain_thread.close()
        plane.explain_worker.close()

    app = ModelServerApp(
        title="Model server",
        description="Routes predictions between the champion (A) and challenger (B) aliases of "
        f"`{settings.model_name}`; hot-swaps them from the MLflow registry.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.credentials = Credentials(settings)
    app.state.shadow = ShadowStats(on_event=layers.serving_event)
    answers = errors.ErrorAnswers(protocols)
    # innermost: every middleware below wraps it too
    app.add_middleware(HotPath, state=app.state, routes=routes, answers=answers)
    errors.install(app, settings.max_body_bytes, answers)
    for protocol in protocols:  # routes are matched in order: the prediction routes first
        app.include_router(protocol.router)
    openapi_doc.document(app, protocols, settings, lambda: _loaded(served.variants))
    log_context.attach(layers.logging_handlers("serving"))
    layers.serving_startup(app, served)  # optional layers add middleware here
    if tracing.configure("mlops-serving", settings.otel_exporter_otlp_endpoint):
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor  # only when tracing

        # one span per request: the per-ASGI-message send/receive spans doubled its cost (bench)
        app.trace_ratio = settings.tracing_sample_ratio  # the rest take the direct path, untraced
        FastAPIInstrumentor.instrument_app(
            app, tracer_provider=tracing.provider, excluded_urls=UNTRACED, exclude_spans=["receive", "send"]
        )
    app.add_middleware(RequestLog, slow_ms=settings.request_log_slow_ms, quiet_paths=frozenset(UNTRACED.split(",")))
    app.add_middleware(RequestId)  # outermost: every answer, errors included, carries the id
    return app


def _loaded(variants: VariantRegistry | None) -> dict[str, RuntimeInfo]:
    """The loaded models by label (`A (v3)`), for the OpenAPI."""
    loaded = [v for v in variants.variants() if v.runtime and v.runtime.info] if variants else []
    return {f"{v.alias} (v{v.runtime.info.ref.version})": v.runtime.info for v in loaded}
