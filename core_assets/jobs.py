"""Jobs: train (features -> released version, in one run), and the three levers over `served_alias`."""

from dagster import AssetSelection, define_asset_job

from core_assets.levers import LEVER_TAG

train_job = define_asset_job(
    "train_job",
    selection=AssetSelection.assets("features", "trained_model", "registered_model_version", "served_alias"),
    description="Build features, train, gate, register a new model version and release it (one run).",
)


def _lever_job(name: str, lever: str, description: str):
    """A job over `served_alias` whose runs carry the lever in their tags, whatever the config."""
    return define_asset_job(
        name, selection=AssetSelection.assets("served_alias"), tags={LEVER_TAG: lever}, description=description
    )


deploy_job = _lever_job(
    "deploy_job",
    "release",
    "Move the target alias to a registered version and hot-swap the server "
    "(config: version, alias, reason; default: the newest registered version).",
)
rollback_job = _lever_job(
    "rollback_job",
    "rollback",
    "Manual lever: point an alias back at an existing READY version (config: alias, version or remove: true, reason).",
)
promote_job = _lever_job("promote_job", "promote", "Manual lever: the champion (A) takes the challenger's (B) version.")
