"""`/predict {"entity_ids": [...]}`: the rows of the answering model version, fetched from the online
store through that version's own FeatureService; a missing entity is a 422 naming it."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from feast import FeatureService, FeatureStore
from feast.errors import FeatureServiceNotFoundException

from layer_api import RowsRejected
from optional_layers.feast.batched_lookup import BatchedLookup
from optional_layers.feast.repository import service_name
from optional_layers.feast.row_cache import RowCache

FORM = "entity_ids"


def entity_ids(document: dict[str, Any], max_rows: int) -> list[int] | None:
    """The ids of an `{"entity_ids": [...]}` body; None for another form; RowsRejected if malformed."""
    if FORM not in document:
        return None
    extra = sorted(set(document) - {FORM})
    if extra:
        raise RowsRejected(f"body: unexpected keys {extra} beside {FORM}")
    ids = document[FORM]
    if not isinstance(ids, list) or not ids:
        raise RowsRejected(f"{FORM}: a non-empty list of integers is required")
    if len(ids) > max_rows:
        raise RowsRejected(f"{FORM}: {len(ids)} ids; at most {max_rows} per request")
    bad = [i for i, value in enumerate(ids) if type(value) is not int]
    if bad:
        raise RowsRejected(f"{FORM}.{bad[0]}: {ids[bad[0]]!r} is not an integer id")
    return ids


class OnlineRows:
    """The rows of `{"entity_ids": [...]}` bodies, per model version: one batched lookup per
    FeatureService (built once: a version's service never changes) and, when
    FEAST_ONLINE_CACHE_SECONDS > 0, a cache of the rows read lately."""

    def __init__(self, store: Callable[[], FeatureStore], entity_key: str, cache_seconds: float):
        self.store, self.entity_key, self.cache_seconds = store, entity_key, cache_seconds
        self._lookups: dict[str, BatchedLookup] = {}
        self._lookups_lock = threading.Lock()
        self._caches: dict[tuple[str, tuple[str, ...]], RowCache] = {}

    def _lookup(self, name: str) -> BatchedLookup:
        with self._lookups_lock:  # request threads race for the first lookup of a version
            if name not in self._lookups:
                store = self.store()
                service = store.get_feature_service(name, allow_cache=False)
                key = self.entity_key

                def read(ids: list[int], service: FeatureService = service) -> dict[str, list]:
                    rows = [{key: i} for i in ids]
                    return store.get_online_features(features=service, entity_rows=rows).to_dict()

                self._lookups[name] = BatchedLookup(read, name)
            return self._lookups[name]

    def cache(self, name: str, feature_names: list[str]) -> RowCache | None:
        if self.cache_seconds <= 0:
            return None
        return self._caches.setdefault((name, tuple(feature_names)), RowCache(self.cache_seconds))

    def rows(self, model_name: str, version: str, feature_names: list[str], ids: list[int]) -> list[list[float]]:
        name = service_name(model_name, version)
        try:
            lookup = self._lookup(name)
        except FeatureServiceNotFoundException as exc:
            raise RowsRejected(f"{model_name} v{version} has no FeatureService {name}: send `data` rows") from exc
        values = lookup.fetch(ids)  # one read with the ids of every request waiting meanwhile
        absent = [f for f in feature_names if f not in values]
        if absent:
            raise RowsRejected(f"FeatureService {name} does not provide the model's features {absent}")
        missing = [ids[row] for row in range(len(ids)) if any(values[f][row] is None for f in feature_names)]
        if missing:
            raise RowsRejected(
                f"{FORM} not in the online store: {missing[:20]}{' ...' if len(missing) > 20 else ''} "
                f"(FeatureService {name})"
            )
        rows = [[values[f][row] for f in feature_names] for row in range(len(ids))]
        cache = self.cache(name, feature_names)
        if cache is not None:
            cache.put(ids, rows)
        return rows

    def in_memory(
        self, model_name: str, version: str, feature_names: list[str], ids: list[int]
    ) -> list[list[float]] | None:
        """The ids' rows read within the cache's seconds, or None (then `rows` reads them)."""
        cache = self.cache(service_name(model_name, version), feature_names)
        return None if cache is None else cache.get(ids)


ENTITY_REQUEST = {
    "title": "EntityPredictRequest",
    "type": "object",
    "required": [FORM],
    "additionalProperties": False,
    "properties": {
        FORM: {
            "type": "array",
            "minItems": 1,
            "items": {"type": "integer"},
            "description": "entities whose features the answering version's FeatureService "
            "reads from the online store (feast layer)",
        }
    },
    "examples": [{FORM: [0, 42]}],
}


def document_entity_form(app: FastAPI) -> None:
    """Show both request forms of the predict routes in the OpenAPI."""
    generate = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            schema = generate()
            schema["components"]["schemas"]["EntityPredictRequest"] = ENTITY_REQUEST
            for path in ("/predict", "/variant/{alias}/predict", "/invocations"):
                body = schema["paths"][path]["post"]["requestBody"]["content"]["application/json"]
                forms = body["schema"].get("oneOf", [body["schema"]])
                body["schema"] = {"oneOf": [*forms, {"$ref": "#/components/schemas/EntityPredictRequest"}]}
        return app.openapi_schema

    app.openapi = openapi
