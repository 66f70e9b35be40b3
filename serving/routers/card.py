"""`GET /models/{version}/card`: a registered version's model card (`mlops_base.model_card`), read
from the registry when asked (its release history as it is now), JSON or Markdown."""

from __future__ import annotations

from typing import Literal

from anyio import to_thread
from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.responses import PlainTextResponse, Response

from mlops_base.model_card import CardFacts, ModelCard, build_card, card_markdown
from mlops_base.registry_rest import RegistryClient, RegistryError, RegistryUnreachable
from serving.dependencies import ScoringAuth, SettingsDep, credential_responses
from serving.protocol import Protocol
from serving.schemas import ErrorResponse

# the card names the training data's location and parameters: behind the scoring credential when
# PREDICT_TOKEN is set (prod), as /predict is
router = APIRouter(tags=["models"], dependencies=[ScoringAuth])


def _card(tracking_uri: str, model_name: str, version: str, facts: CardFacts) -> ModelCard:
    with RegistryClient(tracking_uri) as client:
        return build_card(client, model_name, version, facts)


@router.get(
    "/models/{version}/card",
    response_model=ModelCard,
    responses={
        200: {"content": {"text/markdown": {}}, "description": "the card (Markdown with format=markdown)"},
        404: {"model": ErrorResponse, "description": "no such version of the served model"},
        422: {"model": ErrorResponse, "description": "a version that is not a number, or another format"},
        503: {"model": ErrorResponse, "description": "the registry did not answer"},
        **credential_responses("predict"),
    },
)
async def model_card(
    request: Request,
    settings: SettingsDep,
    version: str = Path(pattern=r"^[0-9]{1,9}$", description="a registered version of MODEL_NAME"),
    format: Literal["json", "markdown"] = Query("json"),
) -> Response | ModelCard:
    """What exactly this version is: data, code, gate, metrics, importance, releases, and what the
    layers on know of it now (this replica's drift tests, the fed-back outcomes)."""
    facts = request.app.state.plane.layers.card_facts
    try:
        card = await to_thread.run_sync(_card, settings.mlflow_tracking_uri, settings.model_name, version, facts)
    except RegistryUnreachable as exc:
        raise HTTPException(503, f"the registry did not answer: {exc}") from exc
    except RegistryError as exc:
        if exc.not_found:
            raise HTTPException(404, f"{settings.model_name} has no version {version}") from exc
        raise HTTPException(503, f"the registry refused: {exc}") from exc
    if format == "markdown":
        return PlainTextResponse(card_markdown(card), media_type="text/markdown")
    return card


PROTOCOL = Protocol("card", router)
