"""The OpenAPI document as this server applies it: schemas of bodies read by hand, the loaded
models' columns (recomputed when a reload changes them), the statuses each protocol answers."""

from __future__ import annotations

from fastapi import FastAPI
from pydantic import BaseModel

from mlops_base.aliases import ALIASES
from serving.columns import Column, describe
from serving.errors import V2_PREFIX
from serving.runtimes.base import RuntimeInfo

_JSON_TYPES = {"number": "number", "string": "string", "boolean": "boolean"}

# a header the hot routes read by hand, as their body (FastAPI's parameter parsing cost ~3% of a request)
CLIENT_ID_HEADER = {
    "name": "x-client-id",
    "in": "header",
    "required": False,
    "schema": {"type": "string"},
    "description": "sticky routing key",
}


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


def _v2_paths(paths: dict, model_name: str, loaded: dict[str, RuntimeInfo]) -> None:
    """The Open Inference Protocol's routes: the names and versions this server serves now, and
    its 400 for bad input (never FastAPI's 422)."""
    values = {
        "model_name": [model_name],
        "model_version": [*ALIASES, *sorted({info.ref.version for info in loaded.values()}, key=int)],
    }
    for path, operations in paths.items():
        if path.startswith(V2_PREFIX):
            for operation in operations.values():
                operation.get("responses", {}).pop("422", None)
                for parameter in operation.get("parameters", []):
                    if parameter["in"] == "path" and parameter["name"] in values:
                        parameter["schema"]["enum"] = values[parameter["name"]]


def document(app: FastAPI, models: list[type[BaseModel]], max_rows: int) -> None:
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
            _v2_paths(app.openapi_schema["paths"], app.state.settings.model_name, loaded)
            documented["loaded"] = key
        return app.openapi_schema

    app.openapi = openapi
