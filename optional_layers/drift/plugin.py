"""Drift layer hooks: on the model server, each served version's inputs and predictions tested
against its reference profile (fed once per model call, off the hot path), `GET /drift` and gauges."""

from __future__ import annotations

import atexit
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import FastAPI

from layer_api import LayerInfo, ScoredBatch, hookimpl
from layer_api.gitops import prometheus_rule
from mlops_base.settings import Settings
from optional_layers.drift.settings import DriftSettings

if TYPE_CHECKING:
    from optional_layers.drift.monitor import DriftMonitor, FetchReference
    from serving.api import Protocol, ServedView

GITOPS_APP = "gitops/optional/drift"
RULES_SOURCE = "optional_layers/drift/rules/drift-alerts.yaml"


class DriftLayer:
    """Its state in a model server (the monitor) is built when the server starts; a Dagster
    process never builds it."""

    SETTINGS = DriftSettings

    def __init__(self, settings: Settings, fetch_reference: FetchReference | None = None):
        self.settings = settings
        self.fetch_reference = fetch_reference  # a version's reference profile; None: the registry's
        self.monitor: DriftMonitor | None = None
        self.served: ServedView | None = None

    @hookimpl
    def mlops_layer_info(self) -> LayerInfo:
        return LayerInfo(
            "drift",
            "Drift: each served version's inputs and predictions tested against its reference, always-valid",
            GITOPS_APP,
        )

    @hookimpl
    def mlops_dagster_definitions(self):
        from optional_layers.drift.definitions import drift_definitions  # Dagster only where it runs

        return drift_definitions(self.settings)

    @hookimpl
    def mlops_gitops_files(self) -> dict[str, str]:
        rules = Path(__file__).parent / "rules" / "drift-alerts.yaml"
        return {f"{GITOPS_APP}/manifests/prometheusrule.yaml": prometheus_rule("mlops-drift", rules, RULES_SOURCE)}

    @hookimpl
    def mlops_serving_startup(self, app: FastAPI, served: ServedView) -> None:
        from optional_layers.drift.serving import monitor_of  # the model server only

        self.served = served
        self.monitor = monitor_of(self.settings, self.fetch_reference)
        self.monitor.start()
        atexit.register(self.monitor.close)

    @hookimpl
    def mlops_serving_protocols(self) -> list[Protocol]:
        return [self.protocol]

    @cached_property
    def protocol(self) -> Protocol:
        from optional_layers.drift.serving import router  # the model server only
        from serving.api import Protocol

        return Protocol("drift", router(lambda: self.monitor, lambda: self.served))

    @hookimpl
    def mlops_card_facts(self, version: str) -> dict[str, str]:
        """In a model server, this replica's tests of `version`; elsewhere, every replica's."""
        from optional_layers.drift.replicas import card_line, read_replicas

        if self.monitor is not None and self.served is not None:
            return {"drift": f"this replica: {card_line({'': self.monitor.state(self.served.versions())}, version)}"}
        settings = self.settings
        try:
            states = read_replicas(
                settings.serving_url,
                settings.serving_replica_urls,
                settings.serving_replicas_dns,
                settings.reload_secret_token,
            )
        except RuntimeError as exc:
            return {"drift": f"unknown ({exc})"}
        return {"drift": card_line(states, version)}

    @hookimpl
    def mlops_batch_observer(self) -> Callable[[ScoredBatch], None] | None:
        return None if self.monitor is None else self.monitor.observe

    @hookimpl
    def mlops_metric_values(self) -> dict[str, float]:
        return {"mlops_drift_dropped_batches_total": float(self.monitor.dropped if self.monitor else 0)}

    @hookimpl
    def mlops_metric_samples(self) -> list[tuple[str, str, dict[str, str], float]]:
        from optional_layers.drift.serving import gauges

        if self.monitor is None or self.served is None:
            return []
        return gauges(self.monitor.state(self.served.versions()))
