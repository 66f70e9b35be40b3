"""A layer's feature source replaces the env's dataset in the features asset."""

from __future__ import annotations

import pandas as pd
from dagster import materialize

from core_assets.assets import features
from core_assets.resources import build_resources
from layer_api.hookspecs import hookimpl
from layer_api.manager import LayerManager


class TinyFeatureStore:
    @hookimpl
    def mlops_feature_source(self, dataset):
        return pd.DataFrame(
            {
                "x1": [float(i) for i in range(40)],
                "x2": [i % 7 for i in range(40)],
                "target": [i % 2 for i in range(40)],
            }
        )


def test_features_come_from_the_layer_when_one_provides_them(settings, instance):
    manager = LayerManager(settings, set())
    manager.pm.register(TinyFeatureStore(), name="tiny-feature-store")
    try:
        result = materialize([features], resources=build_resources(settings, manager), instance=instance)
    finally:
        manager.pm.unregister(name="tiny-feature-store")
    metadata = result.asset_materializations_for_node("features")[0].metadata
    assert metadata["feature_names"].value == ["x1", "x2"]
    assert metadata["train_rows"].value + metadata["test_rows"].value == 40
