"""What the drift layer adds to the model server: the monitor fed by the batch observer, `GET
/drift`, and its state as gauges."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException

from mlops_base.reference_profile import PROFILE_ARTIFACT, PROFILE_TAG
from mlops_base.registry_rest import RegistryClient, verified_run_file
from mlops_base.settings import Settings
from optional_layers.drift.monitor import DriftMonitor, FetchReference
from optional_layers.drift.settings import DriftSettings
from serving.api import ServedView, credential, credential_responses

MAX_PROFILE_BYTES = 64 * 1024 * 1024  # a profile is ~64 KiB a column at most: anything larger is not one


def registry_reference(tracking_uri: str) -> FetchReference:
    """The reference profile of a registered version, read from its training run and checked
    against the digest on the version (`ArtifactMismatch` otherwise); None when the version has none
    (trained before drift)."""

    def fetch(model_name: str, version: str) -> Mapping[str, Any] | None:
        with RegistryClient(tracking_uri) as client:
            data = verified_run_file(client, model_name, version, PROFILE_TAG, PROFILE_ARTIFACT, MAX_PROFILE_BYTES)
        return None if data is None else json.loads(data)

    return fetch


def monitor_of(settings: Settings, fetch_reference: FetchReference | None = None) -> DriftMonitor:
    layer = DriftSettings.of(settings)
    return DriftMonitor(
        settings.model_name,
        fetch_reference or registry_reference(settings.mlflow_tracking_uri),
        layer.drift_alpha,
        layer.drift_min_effect,
        layer.drift_look_rows,
    )


def gauges(state: Mapping[str, Any]) -> list[tuple[str, str, dict[str, str], float]]:
    """Per served version and column: the test's statistic, its threshold, the effect and the decision."""
    samples = []
    for version in state["versions"]:
        labels = {"version": version["version"]}
        samples.append(("mlops_drift_rows", "Rows of the version the drift tests looked at", labels, version["rows"]))
        for column in version["columns"]:
            at = {**labels, "column": column["column"]}
            if column["statistic"] is not None:
                samples.append(("mlops_drift_statistic", "log of the column's drift e-value", at, column["statistic"]))
            samples.append(("mlops_drift_threshold", "log e-value at which the column alarms", at, column["threshold"]))
            samples.append(("mlops_drift_effect", "PSI of the live rows against the reference", at, column["effect"]))
            detected = 1.0 if column["decision"] == "drift" else 0.0
            samples.append(("mlops_drift_detected", "1 once the column drifted from its reference", at, detected))
    return samples


ERRORS = {**credential_responses("reload"), 503: {"description": "the drift layer has not started"}}


def router(current: Callable[[], DriftMonitor | None], served: Callable[[], ServedView | None]) -> APIRouter:
    routes = APIRouter(tags=["drift"])

    @routes.get("/drift", responses=ERRORS)
    def drift(_: Annotated[str, credential("reload")]) -> dict[str, Any]:
        """Per served version: whether its inputs or predictions drifted from its reference profile,
        and per column the test's statistic (log e-value), its threshold, the effect (PSI), the
        decision and the reference and live shares per bin (needs the reload credential: the
        reference describes the training data)."""
        monitor, view = current(), served()
        if monitor is None or view is None:
            raise HTTPException(503, "the drift layer has not started")
        return monitor.state(view.versions())

    return routes
