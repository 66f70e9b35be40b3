"""The `model_card` asset: the card of each version the graph registers (`mlops_base.model_card`),
written as JSON and Markdown to the version's training run and shown on the asset's page. Its own
run after the registration (eager on `registered_model_version`), so a card never delays a release."""

from typing import Any

from dagster import AssetExecutionContext, AssetIn, AutomationCondition, MaterializeResult, MetadataValue, asset

from core_assets.release.registered_input import REGISTERED_INPUT
from core_assets.resources import MlflowRegistry
from mlops_base.model_card import CARD_JSON, CARD_MARKDOWN, build_card, card_markdown


@asset(
    group_name="release",
    ins={"registered_model_version": AssetIn(input_manager_key=REGISTERED_INPUT)},
    automation_condition=AutomationCondition.eager(),
)
def model_card(
    context: AssetExecutionContext, registered_model_version: dict[str, Any] | None, registry: MlflowRegistry
) -> MaterializeResult:
    """What exactly the newest registered version is: its data, code, gate, metrics, importance and
    releases, read from the registry (also `GET /models/{version}/card`, `./mlops card VERSION`)."""
    if registered_model_version is None:
        return MaterializeResult(metadata={"card": MetadataValue.md("no version registered yet")})
    version = registered_model_version["version"]
    with registry.rest() as client:
        card = build_card(client, registry.model_name, version)
    markdown = card_markdown(card)
    mlflow = registry.client()
    mlflow.log_text(card.run_id, card.model_dump_json(indent=1), CARD_JSON)
    mlflow.log_text(card.run_id, markdown, CARD_MARKDOWN)
    context.log.info("model card of v%s written to run %s", version, card.run_id)
    return MaterializeResult(
        metadata={
            "version": version,
            "registry": MetadataValue.url(registry.model_url(version)),
            "card": MetadataValue.md(markdown),
        }
    )
