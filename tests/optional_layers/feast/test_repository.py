"""The feature repository against real Feast (local provider, file offline store) and a real
online store (SQLite, and Redis): ingest, apply, historical retrieval, materialization, online
lookup, point-in-time correctness and the TTL window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from sklearn.datasets import load_iris

from layer_api import RowsRejected
from optional_layers.feast import repository
from optional_layers.feast.online import OnlineRows
from optional_layers.feast.settings import FeastSettings
from optional_layers.feast.store import feature_store

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def _iris() -> pd.DataFrame:
    frame = load_iris(as_frame=True).frame
    return frame.assign(flower_id=range(len(frame)))


def _ingest(settings, dataset, now):
    ingest = repository.split_dataset(dataset, settings, now=now)
    repository.write_offline(settings, ingest.features)
    store = feature_store(settings)
    repository.apply(store, settings, ingest.feature_names)
    return store, ingest


def _online(store, settings) -> OnlineRows:
    """The layer's online rows over `store` (no cache: each call reads the store)."""
    return OnlineRows(lambda: store, FeastSettings.of(settings).feast_entity_key, cache_seconds=0)


def test_ingest_apply_historical_materialize_and_online_lookup(feast_settings):
    dataset = _iris()
    store, ingest = _ingest(feast_settings, dataset, T0)

    training = repository.historical(store, feast_settings, ingest)
    assert list(training.columns) == [*ingest.feature_names, "target"] and len(training) == 150
    assert training[ingest.feature_names].to_numpy().tolist() == dataset[ingest.feature_names].to_numpy().tolist()

    assert repository.materialize(store, feast_settings, now=T0 + timedelta(minutes=1))["mode"] == "full"
    repository.register_service(store, "iris", "1", ingest.feature_names)
    lookup = _online(store, feast_settings)
    rows = lookup.rows("iris", "1", ingest.feature_names, [0, 149])
    assert rows == dataset[ingest.feature_names].iloc[[0, 149]].to_numpy().tolist()

    # a second ingest with changed values: incremental materialization serves the new ones
    changed = dataset.assign(**{ingest.feature_names[0]: dataset[ingest.feature_names[0]] + 100})
    _ingest(feast_settings, changed, T0 + timedelta(hours=1))
    assert repository.materialize(store, feast_settings, now=T0 + timedelta(hours=2))["mode"] == "incremental"
    [row] = lookup.rows("iris", "1", ingest.feature_names, [0])
    assert row[0] == dataset[ingest.feature_names[0]][0] + 100


def test_a_missing_entity_is_refused_by_id_never_a_nan_row(feast_settings):
    store, ingest = _ingest(feast_settings, _iris(), T0)
    repository.materialize(store, feast_settings, now=T0 + timedelta(minutes=1))
    repository.register_service(store, "iris", "1", ingest.feature_names)

    with pytest.raises(RowsRejected, match=r"entity_ids not in the online store: \[999, 1000\]"):
        _online(store, feast_settings).rows("iris", "1", ingest.feature_names, [3, 999, 1000])


def test_point_in_time_a_value_changed_after_the_label_time_is_not_used(feast_settings):
    """Flower 7's first feature changes at T0+2h; its label is from T0+1h: training sees the old value."""
    dataset = _iris()
    name = dataset.columns[0]
    store, _ = _ingest(feast_settings, dataset, T0)
    later = dataset.assign(**{name: 99.0})
    _ingest(feast_settings, later.iloc[[7]], T0 + timedelta(hours=2))

    labelled = dataset.iloc[[7]].assign(label_timestamp=T0 + timedelta(hours=1))
    ingest = repository.split_dataset(labelled, feast_settings, now=T0 + timedelta(hours=1))
    training = repository.historical(store, feast_settings, ingest)
    assert training[name].tolist() == [dataset[name][7]]

    at_three = repository.Ingest(
        ingest.features, ingest.labels.assign(event_timestamp=T0 + timedelta(hours=3)), ingest.feature_names
    )
    assert repository.historical(store, feast_settings, at_three)[name].tolist() == [99.0]


def test_rows_outside_the_ttl_window_are_reported_not_dropped(feast_settings, monkeypatch):
    monkeypatch.setenv("FEAST_TTL_DAYS", "1")
    settings = feast_settings
    dataset = _iris().assign(event_timestamp=T0)
    dataset.loc[[4, 5], "event_timestamp"] = T0 - timedelta(days=3)  # features older than the window
    store, ingest = _ingest(settings, dataset.assign(label_timestamp=T0), T0)

    with pytest.raises(
        ValueError,
        match=r"2 of 150 labelled rows have no feature values within the feature "
        r"view's TTL \(1 days\).*flower_ids \[4, 5\]",
    ):
        repository.historical(store, settings, ingest)


def test_a_bad_dataset_is_refused_naming_every_problem(feast_settings):
    dataset = _iris().assign(colour="red")
    dataset.loc[0, "sepal length (cm)"] = float("nan")
    with pytest.raises(ValueError, match=r"feature 'sepal length \(cm\)' has NaN.*feature 'colour' is not numeric"):
        repository.split_dataset(dataset, feast_settings)
