"""What the feast layer adds to the Dagster code location: the online store, kept up to date."""

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AutomationCondition,
    Definitions,
    Failure,
    MaterializeResult,
    ResourceParam,
    asset,
)
from feast.errors import FeatureViewNotFoundException

from mlops_base.settings import Settings
from optional_layers.feast import repository
from optional_layers.feast.store import feature_store, offline_path


@asset(group_name="feast", deps=[AssetKey("features")], automation_condition=AutomationCondition.eager())
def feast_online_features(context: AssetExecutionContext, settings: ResourceParam[Settings]) -> MaterializeResult:
    """The feature repository applied and the online store materialized from the offline store
    (everything the first time, incrementally after), for `/predict {"entity_ids": [...]}`."""
    store = feature_store(settings)
    try:  # the features the last `features` run ingested
        names = [f.name for f in store.get_feature_view(repository.VIEW, allow_registry_cache=False).features]
    except FeatureViewNotFoundException as exc:
        raise Failure(description="no feature view yet: materialize `features` with the feast layer on first") from exc
    repository.apply(store, settings, names)
    done = repository.materialize(store, settings)
    context.log.info("materialized %s to the %s online store", done, store.config.online_store.type)
    return MaterializeResult(
        metadata={
            **done,
            "online_store": store.config.online_store.type,
            "features": names,
            "offline_store": str(offline_path(settings)),
        }
    )


def feast_definitions() -> Definitions:
    return Definitions(assets=[feast_online_features])
