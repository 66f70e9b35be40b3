"""One alias move from start to end, as `served_alias` makes it: plan -> the layers' refusals ->
release (move, hot-swap, verify) -> the lifecycle event."""

from __future__ import annotations

import logging

from dagster import Failure

from core_assets.lib.events import emit_lifecycle_event
from core_assets.release.levers import MoveRequest, ReleaseRun, plan_move
from core_assets.release.move import Deployment, release
from core_assets.release.registry import MoveRefused
from core_assets.resources import MlflowRegistry, ModelServer
from layer_api.manager import LayerManager
from mlops_base import tracing
from mlops_base.settings import Settings
from serving_client import ServingError


def serve_alias(
    request: MoveRequest,
    run: ReleaseRun,
    registry: MlflowRegistry,
    model_server: ModelServer,
    settings: Settings,
    layers: LayerManager,
    log: logging.Logger,
) -> Deployment:
    """The move the run asked for, made and served. A refusal (nothing valid to do, a layer's veto,
    a registry that refuses, replicas that cannot be found) alerts and raises Failure with the alias
    unchanged; a failed hot-swap is returned (the move happened and is recorded)."""
    client = registry.rest()
    alias, version = request.alias or settings.target_alias, request.version  # what was asked, until planned
    try:
        fleet = model_server.fleet(settings.reload_secret_token)  # found before anything moves
        plan = plan_move(request, run, client, registry.model_name, settings.target_alias)
        alias, version = plan.alias, plan.version
        refusals = [] if plan.version is None else layers.release_refusals(plan.model_name, plan.version)
        if refusals:
            raise MoveRefused("; ".join(refusals))
        # the run's trace: the replicas' reloads (load, smoke test, swap) are its children
        with tracing.span("served_alias", alias=alias, version=version, lever=plan.lever, run_id=plan.run_id):
            deployment = release(client, fleet, plan, log)
    except (MoveRefused, ServingError) as exc:
        # every refusal alerts: a rollback whose target was deleted must not go unnoticed
        refused = {
            "model_name": registry.model_name,
            "alias": str(alias),
            "lever": run.lever,
            "version": version,
            "reasons": str(exc),
            "dagster_run_id": run.run_id,
        }
        emit_lifecycle_event("deploy_refused", refused, layers, log)
        raise Failure(description=f"refused, alias {alias} unchanged: {exc}") from exc
    finally:
        client.close()
    payload = {**deployment.move.as_dict(), "detail": deployment.detail, "dagster_run_id": run.run_id}
    ok_event = "rolled_back" if run.lever == "rollback" else "served"
    emit_lifecycle_event(ok_event if deployment.serving_ok else "deploy_failed", payload, layers, log)
    return deployment
