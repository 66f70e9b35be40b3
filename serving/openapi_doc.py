"""The OpenAPI document as this server applies it: each protocol's schemas of bodies read by hand
and its patch (the loaded models' columns, recomputed when a reload changes them; the statuses it
answers), iterated over the protocols' declarations."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING

from fastapi import FastAPI

from mlops_base.settings import Settings
from serving.columns import Column, describe
from serving.runtimes.base import RuntimeInfo

if TYPE_CHECKING:
    from serving.protocol import Protocol

_JSON_TYPES = {"number": "number", "string": "string", "boolean": "boolean"}

# a header the hot routes read by hand, as their body (FastAPI's parameter parsing cost ~3% of a request)
CLIENT_ID_HEADER = {
    "name": "x-client-id",
    "in": "header",
    "required": False,
    "schema": {"type": "string"},
    "description": "sticky routing key",
}


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


def invocation_forms(openapi: dict, loaded: Mapping[str, RuntimeInfo], settings: Settings) -> None:
    """MLflow's `/invocations` forms, from the same row and table schemas as /predict's (no `return_proba`)."""
    schemas = openapi["components"]["schemas"]
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


def describe_columns(openapi: dict, loaded: Mapping[str, RuntimeInfo], settings: Settings) -> None:
    """State the limits as this server applies them: 1 to MAX_ROWS rows, and the loaded models'
    columns (exactly, when every loaded model takes the same ones)."""
    schemas, max_rows = openapi["components"]["schemas"], settings.max_rows
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
    column_sets = {tuple(info.columns) for info in loaded.values()}
    if len(column_sets) == 1:
        _exact_forms(schemas, list(next(iter(column_sets))), max_rows)
    if loaded and all(info.classes is None for info in loaded.values()):
        for name in ("PredictRequest", "DataframeSplitRequest", "DataframeRecordsRequest"):
            schemas[name]["properties"]["return_proba"].update(enum=[False], description="no loaded model has them")


CREDENTIAL_STATUSES = {
    "401": "PREDICT_TOKEN is set and the request carries no credential, or an invalid one",
    "403": "the request carries another scope's credential (e.g. the feedback token)",
    "429": "too many invalid credentials from this client; see Retry-After",
}


def credential_statuses(openapi: dict, scoring_paths: Iterable[str]) -> None:
    """The statuses of the predict credential on every scoring route, in the shape of its other errors."""
    for path in scoring_paths:
        responses = openapi["paths"].get(path, {}).get("post", {}).get("responses")
        if responses is None:
            continue
        shape = {key: value for key, value in responses.get("422", {}).items() if key == "content"}
        for status, description in CREDENTIAL_STATUSES.items():
            responses.setdefault(status, {"description": description, **shape})


def document(
    app: FastAPI, protocols: Iterable[Protocol], settings: Settings, loaded: Callable[[], dict[str, RuntimeInfo]]
) -> None:
    """Add the schemas that routes name by reference but FastAPI never saw (bodies read by hand),
    then each protocol's patch, for the models `loaded()` now (recomputed when a reload changes them)."""
    protocols = tuple(protocols)
    generate = app.openapi
    documented: dict[str, object] = {}

    def openapi() -> dict:
        now = loaded()
        key = {label: (info.columns, info.classes is None) for label, info in now.items()}
        if app.openapi_schema is None or documented.get("loaded") != key:
            app.openapi_schema = None
            schemas = generate().setdefault("components", {}).setdefault("schemas", {})
            for model in (model for protocol in protocols for model in protocol.schemas):
                schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
                schemas.update(schema.pop("$defs", {}))
                schemas[model.__name__] = schema
            credential_statuses(app.openapi_schema, [r.pattern for p in protocols for r in p.hot_routes])
            for protocol in protocols:
                if protocol.document is not None:
                    protocol.document(app.openapi_schema, now, settings)
            documented["loaded"] = key
        return app.openapi_schema

    app.openapi = openapi
