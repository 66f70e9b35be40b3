"""The feature repository: one entity and one feature view over the output of `features`, a
FeatureService per trained model version, and what the platform does with them (ingest, apply,
historical retrieval, materialization, online lookup, the deploy-time contract)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
from feast import Entity, FeatureService, FeatureStore, FeatureView, Field, FileSource, ValueType
from feast.errors import FeatureServiceNotFoundException, FeatureViewNotFoundException
from feast.types import Float64

from mlops_base.settings import Settings
from optional_layers.feast.settings import FeastSettings
from optional_layers.feast.store import offline_path

ENTITY = "entity"
VIEW = "dataset_features"
EVENT_TIMESTAMP = "event_timestamp"  # when a feature value became true (optional dataset column)
LABEL_TIMESTAMP = "label_timestamp"  # when the label became known (optional dataset column)


def service_name(model_name: str, version: str) -> str:
    return f"{model_name}_v{version}"


@dataclass(frozen=True)
class Ingest:
    """A dataset split into what the feature store keeps and what training joins to it."""

    features: pd.DataFrame  # entity key, event timestamp, feature columns
    labels: pd.DataFrame  # entity key, event timestamp (the label's time), target
    feature_names: list[str]


def _timestamps(frame: pd.DataFrame, column: str, default: datetime) -> pd.Series:
    if column not in frame:
        return pd.Series(default, index=frame.index)
    return pd.to_datetime(frame[column], utc=True)


def split_dataset(dataset: pd.DataFrame, settings: Settings, now: datetime | None = None) -> Ingest:
    """ValueError naming every problem: no target, non-numeric or non-finite features, duplicate keys."""
    now = now or datetime.now(UTC)
    key, target = FeastSettings.of(settings).feast_entity_key, settings.target_column
    reserved = {key, target, EVENT_TIMESTAMP, LABEL_TIMESTAMP}
    names = [c for c in dataset.columns if c not in reserved]
    problems = [] if target in dataset else [f"target column {target!r} missing"]
    for name in names:
        if not pd.api.types.is_numeric_dtype(dataset[name]) or pd.api.types.is_bool_dtype(dataset[name]):
            problems.append(f"feature {name!r} is not numeric (dtype {dataset[name].dtype})")
        elif not np.isfinite(dataset[name].to_numpy(dtype=float)).all():
            problems.append(f"feature {name!r} has NaN or infinite values")
    ids = dataset[key] if key in dataset else pd.Series(np.arange(len(dataset)), index=dataset.index)
    if ids.duplicated().any():
        problems.append(f"entity key {key!r} has duplicates: {sorted(set(ids[ids.duplicated()]))[:10]}")
    if not names:
        problems.append("no feature columns")
    if problems:
        raise ValueError("; ".join(problems))
    ids = ids.astype("int64")
    event = _timestamps(dataset, EVENT_TIMESTAMP, now)
    features = dataset[names].astype(float).assign(**{key: ids, EVENT_TIMESTAMP: event})
    label_time = _timestamps(dataset, LABEL_TIMESTAMP, now) if LABEL_TIMESTAMP in dataset else event
    labels = pd.DataFrame({key: ids, EVENT_TIMESTAMP: label_time, target: dataset[target]})
    return Ingest(features.reset_index(drop=True), labels.reset_index(drop=True), names)


def write_offline(settings: Settings, features: pd.DataFrame) -> int:
    """Append rows to the file offline store (the feature history); returns its row count."""
    path = offline_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    history = pd.concat([pd.read_parquet(path), features], ignore_index=True) if path.is_file() else features
    tmp = path.with_suffix(".parquet.tmp")
    history.to_parquet(tmp, index=False)
    tmp.replace(path)
    return len(history)


def feature_view(settings: Settings, feature_names: list[str]) -> tuple[Entity, FeatureView]:
    feast = FeastSettings.of(settings)
    entity = Entity(
        name=ENTITY,
        join_keys=[feast.feast_entity_key],
        value_type=ValueType.INT64,
        description="one row of the env's dataset",
    )
    source = FileSource(name=f"{VIEW}_source", path=str(offline_path(settings)), timestamp_field=EVENT_TIMESTAMP)
    view = FeatureView(
        name=VIEW,
        entities=[entity],
        ttl=timedelta(days=feast.feast_ttl_days),
        schema=[Field(name=name, dtype=Float64) for name in feature_names],
        source=source,
        online=True,
        description="the features asset's output, as ingested",
    )
    return entity, view


def apply(store: FeatureStore, settings: Settings, feature_names: list[str]) -> FeatureView:
    """Register (or update) the entity and the feature view for these feature columns."""
    entity, view = feature_view(settings, feature_names)
    store.apply([entity, view])
    return view


def historical(store: FeatureStore, settings: Settings, ingest: Ingest) -> pd.DataFrame:
    """Point-in-time-correct training rows: each label joined to the newest feature values at or
    before its time, within the view's TTL. The file offline store silently drops labels with no
    values in that window: they are reported here, never dropped."""
    refs = [f"{VIEW}:{name}" for name in ingest.feature_names]
    joined = store.get_historical_features(entity_df=ingest.labels, features=refs).to_df()
    key = FeastSettings.of(settings).feast_entity_key
    joined = joined.sort_values([key, EVENT_TIMESTAMP], kind="stable").reset_index(drop=True)
    found = joined.dropna(subset=ingest.feature_names)
    requested = ingest.labels.set_index([key, EVENT_TIMESTAMP]).index
    lost = requested.difference(found.set_index([key, EVENT_TIMESTAMP]).index)
    if len(lost):
        ids = sorted({entity for entity, _ in lost})
        raise ValueError(
            f"{len(lost)} of {len(requested)} labelled rows have no feature values within the feature view's "
            f"TTL ({FeastSettings.of(settings).feast_ttl_days} days) before their label time, {key}s {ids[:10]}"
            f"{' ...' if len(ids) > 10 else ''}: their features are older than the window (FEAST_TTL_DAYS) "
            "or were never ingested"
        )
    return found[[*ingest.feature_names, settings.target_column]]


def materialize(store: FeatureStore, settings: Settings, now: datetime | None = None) -> dict[str, str]:
    """Load the online store: from the oldest row the first time, incrementally after."""
    now = now or datetime.now(UTC)
    view = store.get_feature_view(VIEW, allow_registry_cache=False)
    if view.materialization_intervals:
        store.materialize_incremental(end_date=now, feature_views=[VIEW])
        return {"mode": "incremental", "end": now.isoformat()}
    start = pd.read_parquet(offline_path(settings), columns=[EVENT_TIMESTAMP])[EVENT_TIMESTAMP].min()
    start = pd.Timestamp(start).to_pydatetime() - timedelta(seconds=1)
    store.materialize(start_date=start, end_date=now, feature_views=[VIEW])
    return {"mode": "full", "start": start.isoformat(), "end": now.isoformat()}


def register_service(store: FeatureStore, model_name: str, version: str, feature_names: list[str]) -> str:
    """The FeatureService a model version was trained with: its features of the view, in its order."""
    view = store.get_feature_view(VIEW, allow_registry_cache=False)
    name = service_name(model_name, version)
    store.apply(
        [
            FeatureService(
                name=name,
                features=[view[feature_names]],
                description=f"the features {model_name} v{version} was trained on",
            )
        ]
    )
    return name


def release_problem(store: FeatureStore, model_name: str, version: str) -> str | None:
    """Why `version` must not be deployed (its FeatureService is missing, or its features no longer
    match the feature view), or None."""
    name = service_name(model_name, version)
    try:
        service = store.get_feature_service(name, allow_cache=False)
    except FeatureServiceNotFoundException:
        return (
            f"{model_name} v{version} has no FeatureService {name} (it was not trained from the "
            "feature store): retrain it with the feast layer on"
        )
    try:
        current = {f.name: f.dtype for f in store.get_feature_view(VIEW, allow_registry_cache=False).features}
    except FeatureViewNotFoundException:
        return f"feature view {VIEW} does not exist: materialize the features first"
    wanted = {f.name: f.dtype for p in service.feature_view_projections for f in p.features}
    missing = sorted(set(wanted) - set(current))
    changed = sorted(n for n in set(wanted) & set(current) if wanted[n] != current[n])
    if not missing and not changed:
        return None
    what = [f"missing {missing}" if missing else "", f"changed type {changed}" if changed else ""]
    return (
        f"the features of {name} no longer match feature view {VIEW} ({'; '.join(w for w in what if w)}; "
        f"the view has {sorted(current)})"
    )
