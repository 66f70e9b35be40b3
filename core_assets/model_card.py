"""The `model_card` asset: the card of the version the graph registered (`mlops_base.model_card`),
written as JSON and Markdown to the version's training run and shown on the asset's page. It runs
last in the run that registers and releases (after `served_alias`: the release is on the card and
never waits for it), and a card it cannot write is reported, never a failed run."""

from typing import Any

from dagster import AssetExecutionContext, AssetIn, MaterializeResult, MetadataValue, ResourceParam, asset

from core_assets.assets import DEP_REQUESTED_THIS_TICK
from core_assets.release.registered_input import REGISTERED_INPUT
from core_assets.resources import MlflowRegistry
from layer_api.manager import LayerManager
from mlops_base.model_card import CARD_JSON, CARD_MARKDOWN, build_card, card_markdown
from mlops_base.registry_rest import RegistryError, RegistryUnreachable


@asset(
    group_name="release",
    ins={"registered_model_version": AssetIn(input_manager_key=REGISTERED_INPUT)},
    deps=["served_alias"],
    automation_condition=DEP_REQUESTED_THIS_TICK.with_label("released in this run"),
)
def model_card(
    context: AssetExecutionContext,
    registered_model_version: dict[str, Any] | None,
    registry: MlflowRegistry,
    layers: ResourceParam[LayerManager],
) -> MaterializeResult:
    """What exactly the newest registered version is: its data, code, gate, metrics, importance and
    releases, read from the registry (also `GET /models/{version}/card`, `./mlops card VERSION`)."""
    if registered_model_version is None:
        return MaterializeResult(metadata={"card": MetadataValue.md("no version registered yet")})
    from mlflow.exceptions import MlflowException  # in the run: the code location loads without MLflow's client

    version = registered_model_version["version"]
    try:
        with registry.rest() as client:
            card = build_card(client, registry.model_name, version, layers.card_facts)
        markdown = card_markdown(card)
        mlflow = registry.client()
        mlflow.log_text(card.run_id, card.model_dump_json(indent=1), CARD_JSON)
        mlflow.log_text(card.run_id, markdown, CARD_MARKDOWN)
    except (RegistryError, RegistryUnreachable, MlflowException, OSError) as exc:
        context.log.warning("model card of v%s not written: %s", version, exc)
        return MaterializeResult(metadata={"version": version, "card": MetadataValue.md(f"not written: {exc}")})
    context.log.info("model card of v%s written to run %s", version, card.run_id)
    return MaterializeResult(
        metadata={
            "version": version,
            "registry": MetadataValue.url(registry.model_url(version)),
            "card": MetadataValue.md(markdown),
        }
    )
