"""The model server: `uvicorn --factory serving.main:create_app`."""

from __future__ import annotations

import asyncio
import gc
from contextlib import asynccontextmanager

from anyio import to_thread
from fastapi import FastAPI
from pydantic import BaseModel

from mlops_base import log_context
from mlops_base.settings import Settings, SettingsError, load_settings
from optional_layers.manager import LayerManager, build_manager
from serving import errors
from serving.alias_watch import AliasWatch
from serving.columns import Column, describe
from serving.data_plane import DataPlane
from serving.model_source import ModelSource, RegistrySource
from serving.reload_guard import ReloadGuard
from serving.request_id import RequestId
from serving.routers import mlflow_scoring, predict, reload, status
from serving.runtimes.base import RuntimeInfo
from serving.shadow import ShadowStats
from serving.variants import RuntimeFactory, VariantRegistry, runtime_factory

# tokens that must never protect a reload endpoint outside dev
WEAK_TOKENS = {"changeme", "change-me", "dev-reload-token", "token", "secret"}


def check_serving_settings(settings: Settings) -> None:
    settings.require_secrets("serving")
    if settings.mlops_env != "dev" and settings.reload_secret_token in WEAK_TOKENS:
        raise SettingsError(f"env {settings.mlops_env!r} refuses a default RELOAD_SECRET_TOKEN; set a secret one")
    if settings.uses_triton and not settings.triton_url:
        raise SettingsError(
            "a variant is served by Triton but TRITON_URL is not set (`./mlops up` starts Triton and sets it)"
        )


_JSON_TYPES = {"number": "number", "string": "string", "boolean": "boolean"}


def _loaded(app: FastAPI) -> dict[str, RuntimeInfo]:
    variants = getattr(app.state, "variants", None)
    loaded = [v for v in variants.variants() if v.runtime and v.runtime.info] if variants else []
    return {f"{v.alias} (v{v.runtime.info.ref.version})": v.runtime.info for v in loaded}


def _json_type(column: Column) -> str | list[str]:
    return _JSON_TYPES[column.kind] if column.required else [_JSON_TYPES[column.kind], "null"]


def _exact_forms(schemas: dict, columns: list[Column], max_rows: int) -> None:
    """The named forms as exactly as JSON Schema can say them for one set of columns: records fully;
    split's columns as names of the model (all of them when none may be left out) and its rows of
    that width, each cell of the columns' kinds (a row's cells cannot be tied to its column)."""
    schemas["DataframeRecordsRequest"]["properties"]["dataframe_records"]["items"] = {
        "type": "object",
        "properties": {c.name: {"type": _json_type(c)} for c in columns},
        "required": [c.name for c in columns if c.required],
        "additionalProperties": False,
    }
    width, required = len(columns), sum(c.required for c in columns)
    cell_types = sorted({_JSON_TYPES[c.kind] for c in columns} | ({"null"} if required < width else set()))
    row: dict = {"type": "array", "items": {"type": cell_types}}
    if required == width:
        row.update(minItems=width, maxItems=width)
    schemas["DataframeSplit"]["properties"].update(
        columns={
            "type": "array",
            "items": {"enum": [c.name for c in columns]},
            "uniqueItems": True,
            "minItems": required,
            "maxItems": width,
        },
        data={"type": "array", "items": row, "minItems": 1, "maxItems": max_rows},
    )


def _invocation_forms(schemas: dict) -> None:
    """MLflow's `/invocations` forms, from the same row and table schemas as /predict's (no `return_proba`)."""
    rows = {"$ref": "#/components/schemas/PredictRequest/properties/data"}
    records = {"$ref": "#/components/schemas/DataframeRecordsRequest/properties/dataframe_records"}
    split = {"$ref": "#/components/schemas/DataframeSplit"}

    def form(name: str, value: dict) -> dict:
        return {"type": "object", "properties": {name: value}, "required": [name], "additionalProperties": False}

    schemas["InvocationsRequest"] = {
        "description": "exactly one form: `dataframe_split`, `dataframe_records`, or `instances` / `inputs` "
        "(rows as lists, or records)",
        "oneOf": [
            form("dataframe_split", split),
            form("dataframe_records", records),
            *(form(name, value) for name in ("instances", "inputs") for value in (rows, records)),
        ],
    }


def _describe_columns(schemas: dict, loaded: dict[str, RuntimeInfo], max_rows: int) -> None:
    """State the limits as this server applies them: 1 to MAX_ROWS rows, and the loaded models'
    columns (exactly, when every loaded model takes the same ones)."""
    data = schemas["PredictRequest"]["properties"]["data"]
    data.update(minItems=1, maxItems=max_rows)
    widths = sorted({len(info.columns) for info in loaded.values()})
    if widths:
        data["items"].update(minItems=widths[0], maxItems=widths[-1])
    schemas["DataframeRecordsRequest"]["properties"]["dataframe_records"].update(minItems=1, maxItems=max_rows)
    schemas["DataframeSplit"]["properties"]["data"].update(minItems=1, maxItems=max_rows)
    lines = [f"- {label}: {describe(info.columns)}" for label, info in loaded.items()]
    for name in ("DataframeSplitRequest", "DataframeRecordsRequest"):
        schemas[name]["description"] += "\n\nThe loaded models take:\n" + ("\n".join(lines) or "- (none loaded)")
    _invocation_forms(schemas)
    column_sets = {tuple(info.columns) for info in loaded.values()}
    if len(column_sets) == 1:
        _exact_forms(schemas, list(next(iter(column_sets))), max_rows)
    if loaded and all(info.classes is None for info in loaded.values()):
        for name in ("PredictRequest", "DataframeSplitRequest", "DataframeRecordsRequest"):
            schemas[name]["properties"]["return_proba"].update(enum=[False], description="no loaded model has them")


def _document(app: FastAPI, models: list[type[BaseModel]], max_rows: int) -> None:
    """Add schemas that routes name by reference but FastAPI never saw (bodies read by hand), with
    the loaded models' columns (recomputed when a reload changes them)."""
    generate = app.openapi
    documented: dict[str, object] = {}

    def openapi() -> dict:
        loaded = _loaded(app)
        key = {label: (info.columns, info.classes is None) for label, info in loaded.items()}
        if app.openapi_schema is None or documented.get("loaded") != key:
            app.openapi_schema = None
            schemas = generate().setdefault("components", {}).setdefault("schemas", {})
            for model in models:
                schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
                schemas.update(schema.pop("$defs", {}))
                schemas[model.__name__] = schema
            _describe_columns(schemas, loaded, max_rows)
            documented["loaded"] = key
        return app.openapi_schema

    app.openapi = openapi


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
    settings = settings or load_settings()
    check_serving_settings(settings)
    layers = layers or build_manager(settings)
    source = source or RegistrySource(settings)
    new_runtime = new_runtime or runtime_factory(settings)

    def on_event(event: str, payload: dict) -> None:
        layers.serving_event(event, payload, settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        variants = app.state.variants = VariantRegistry(settings, source, new_runtime, on_event=on_event)
        app.state.plane = DataPlane(settings, variants, layers, app.state.shadow)
        # Models load in the background, never at import: the server answers at once, /ready says
        # 503 and /predict 503 until they are in (a registry that is down or slow delays only that).
        loading = asyncio.create_task(variants.load_all())
        # Everything imported and loaded by then lives as long as the process: keep the cyclic
        # collector from walking it again and again (full collections stalled requests ~100 ms).
        loading.add_done_callback(lambda _: gc.freeze())
        variants.loading = loading
        watch = app.state.alias_watch = AliasWatch(settings.alias_poll_seconds, source, variants)
        watching = asyncio.create_task(watch.run()) if settings.alias_poll_seconds else None
        yield
        if watching is not None:
            watching.cancel()
        loading.cancel()
        await to_thread.run_sync(variants.close)

    app = FastAPI(
        title="Model server",
        description="Routes predictions between the champion (A) and challenger (B) aliases of "
        f"`{settings.model_name}`; hot-swaps them from the MLflow registry.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.reload_guard = ReloadGuard(settings)
    app.state.shadow = ShadowStats(on_event=on_event)
    errors.install(app, settings.max_body_bytes)
    for router in (predict.router, mlflow_scoring.router, reload.router, status.router):
        app.include_router(router)
    _document(app, predict.SCHEMAS, settings.max_rows)
    log_context.attach(layers.logging_handlers(settings, "serving"))
    layers.serving_startup(app, settings)  # optional layers add middleware and routes here
    app.add_middleware(RequestId)  # outermost: every answer, errors included, carries the id
    return app
