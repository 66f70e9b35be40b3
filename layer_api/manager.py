"""The plugin manager: builds the enabled layers from the entry-point group (each entry point is a
factory called once with the process's settings), blocks disabled ones before they are imported,
and wraps each hook in a typed method the core calls. There is no global one: `build_manager`
makes it where the settings are made, and it is passed on."""

from __future__ import annotations

import logging
import types
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

import pluggy

from layer_api import hookspecs
from layer_api.events import LIFECYCLE_EVENTS, SERVING_EVENTS, LifecycleEvent, ServingEvent, check_event
from layer_api.hookspecs import PROJECT, AnsweredPrediction, CardFact, LayerInfo, RampObservations, ScoredBatch
from layer_api.state import read_state

if TYPE_CHECKING:
    import pandas as pd
    from dagster import Definitions
    from fastapi import FastAPI

    from mlops_base.settings import Component, Settings
    from serving.api import Protocol, ServedView

ENTRY_POINT_GROUP = "mlops.layers"
BUILTIN = {"alerts"}  # always on; registered through the entry-point group like any layer

log = logging.getLogger("mlops.layers")


def known_layers() -> list[str]:
    """Optional layers installed in this environment (entry points of the group, minus built-ins)."""
    return sorted({ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)} - BUILTIN)


class LayerError(RuntimeError):
    """An installed layer that cannot be built: its entry point is not a factory of a layer."""


class LayerManager:
    """The layers of one process: each enabled one built once with `settings`, as a pluggy plugin object."""

    def __init__(self, settings: Settings, enabled: set[str]):
        self.settings = settings
        self.pm = pluggy.PluginManager(PROJECT)
        self.pm.add_hookspecs(hookspecs)
        # in declaration order: monitoring imports prometheus_client before feast would switch it to
        # multiprocess files (feast sets PROMETHEUS_MULTIPROCESS_DIR when imported)
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            if ep.name not in enabled and ep.name not in BUILTIN:
                self.pm.set_blocked(ep.name)  # never imported
            elif not self.pm.has_plugin(ep.name):
                self.pm.register(_build(ep.name, ep.load(), settings), name=ep.name)
        self.pm.check_pending()
        # per hook: the implementations seen and their per-subscriber callers (events run per request)
        self._callers: dict[str, tuple[list, list[tuple[str, Any]]]] = {}

    def loaded(self) -> list[str]:
        return sorted(name for name, plugin in self.pm.list_name_plugin() if plugin is not None)

    def layer_infos(self) -> list[LayerInfo]:
        return list(self.pm.hook.mlops_layer_info())

    def gitops_files(self) -> dict[str, str]:
        return {path: text for files in self.pm.hook.mlops_gitops_files() for path, text in files.items()}

    def dagster_definitions(self) -> list[Definitions]:
        return [d for d in self.pm.hook.mlops_dagster_definitions() if d is not None]

    def serving_startup(self, app: FastAPI, served: ServedView) -> None:
        self.pm.hook.mlops_serving_startup(
            app=app, served=served, metric_values=self.metric_values, metric_samples=self.metric_samples
        )

    def serving_protocols(self) -> list[Protocol]:
        return [protocol for protocols in self.pm.hook.mlops_serving_protocols() for protocol in protocols]

    def feature_source(self, dataset: pd.DataFrame) -> pd.DataFrame | None:
        return self.pm.hook.mlops_feature_source(dataset=dataset)

    def labelled_traffic(self, model_name: str, since: float, target: str) -> list[pd.DataFrame]:
        frames = self.pm.hook.mlops_labelled_traffic(model_name=model_name, since=since, target=target)
        return [frame for frame in frames if frame is not None]

    def ramp_evidence(self, model_name: str, champion: str, challenger: str, since: float) -> list[RampObservations]:
        """Every layer's guardrail observations of a ramp, flattened."""
        found = self.pm.hook.mlops_ramp_evidence(
            model_name=model_name, champion_version=champion, challenger_version=challenger, since=since
        )
        return [observation for observations in found for observation in observations or []]

    def replay_rows(self, model_name: str, since: float, limit: int, target: str) -> pd.DataFrame | None:
        """The first layer's logged rows (one layer keeps a prediction log), or None."""
        frames = self.pm.hook.mlops_replay_rows(model_name=model_name, since=since, limit=limit, target=target)
        return next((frame for frame in frames if frame is not None), None)

    def card_facts(self, model_name: str, version: str, aliases: dict[str, str]) -> dict[CardFact, str]:
        """Every layer's facts of a version for its card, merged."""
        found = self.pm.hook.mlops_card_facts(model_name=model_name, version=version, aliases=aliases)
        return {fact: line for facts in found for fact, line in (facts or {}).items()}

    def release_refusals(self, model_name: str, version: str) -> list[str]:
        reasons = self.pm.hook.mlops_release_check(model_name=model_name, version=version)
        return [reason for reason in reasons if reason]

    def provides_request_rows(self) -> bool:
        return bool(self.pm.hook.mlops_request_rows.get_hookimpls())

    def request_rows_in_memory(
        self, document: dict[str, Any], model_name: str, version: str, feature_names: list[str]
    ) -> list[list[float]] | None:
        return self.pm.hook.mlops_request_rows_in_memory(
            document=document, model_name=model_name, version=version, feature_names=feature_names
        )

    def request_rows(
        self, document: dict[str, Any], model_name: str, version: str, feature_names: list[str]
    ) -> list[list[float]] | None:
        return self.pm.hook.mlops_request_rows(
            document=document, model_name=model_name, version=version, feature_names=feature_names
        )

    def prediction_recorder(self) -> Callable[[AnsweredPrediction], None] | None:
        """One function calling every layer's recorder (None when no layer records): asked once,
        called per request without a hook call's cost. The caller catches what it raises: a
        recorder that breaks its contract must never fail the answered request."""
        recorders = [r for r in self.pm.hook.mlops_prediction_recorder() if r is not None]
        if len(recorders) <= 1:  # the caller guards the call (a frame less a request)
            return recorders[0] if recorders else None

        def record(prediction: AnsweredPrediction) -> None:
            for recorder in recorders:
                try:
                    recorder(prediction)
                except Exception:  # a recorder that breaks its contract never fails the answered request
                    log.exception("a layer failed to record prediction %s", prediction.request_id)

        return record

    def batch_observer(self) -> Callable[[ScoredBatch], None] | None:
        """One function calling every layer's batch observer (None when no layer observes), each
        guarded: one that raises is logged and never fails the call it observed."""
        observers = [o for o in self.pm.hook.mlops_batch_observer() if o is not None]
        if not observers:
            return None

        def observe(batch: ScoredBatch) -> None:
            for observer in observers:
                try:
                    observer(batch)
                except Exception:  # an observer that breaks its contract never fails the answer
                    log.exception("a layer failed to observe a batch of v%s", batch.version)

        return observe

    def lifecycle_event(self, event: LifecycleEvent, payload: dict[str, Any]) -> None:
        check_event(event, LIFECYCLE_EVENTS)
        self._notify("mlops_lifecycle_event", event=event, payload=payload)

    def serving_event(self, event: ServingEvent, payload: dict[str, Any]) -> None:
        check_event(event, SERVING_EVENTS)
        self._notify("mlops_serving_event", event=event, payload=payload)

    def logging_handlers(self, component: Component) -> list[logging.Handler]:
        return [h for handlers in self.pm.hook.mlops_logging_handlers(component=component) for h in handlers]

    def metric_values(self) -> dict[str, float]:
        return {name: value for values in self.pm.hook.mlops_metric_values() for name, value in values.items()}

    def metric_samples(self) -> list[tuple[str, str, dict[str, str], float]]:
        return [sample for samples in self.pm.hook.mlops_metric_samples() for sample in samples]

    def _notify(self, hook_name: str, **kwargs: Any) -> None:
        """Call each subscriber through its own `pm.hook` call, so one that raises stops no other.

        pluggy stops a hook call at the first exception; calling one subset of plugins per
        subscriber keeps its argument subsetting, wrappers (which wrap every subscriber's call)
        and tracing, while isolating failures.
        """
        for plugin_name, caller in self._subscribers(hook_name):
            try:
                caller(**kwargs)
            except Exception:  # a subscriber never breaks the pipeline or the server
                log.exception("layer %s failed on %s %s", plugin_name, hook_name, kwargs.get("event"))

    def _subscribers(self, hook_name: str) -> list[tuple[str, Any]]:
        """(plugin name, caller) per subscriber; rebuilt only when the hook's implementations change."""
        impls = getattr(self.pm.hook, hook_name).get_hookimpls()
        cached = self._callers.get(hook_name)
        if cached is not None and cached[0] == impls:
            return cached[1]
        wrappers = {impl.plugin for impl in impls if impl.wrapper or impl.hookwrapper}
        everyone = {impl.plugin for impl in impls}
        callers = [
            (impl.plugin_name, self.pm.subset_hook_caller(hook_name, everyone - wrappers - {impl.plugin}))
            for impl in reversed(impls)  # pluggy's own order: last registered first
            if not (impl.wrapper or impl.hookwrapper)
        ]
        self._callers[hook_name] = (impls, callers)
        return callers


def _build(name: str, factory: Any, settings: Settings) -> object:
    """The layer object an entry point's factory builds with the process's settings."""
    if isinstance(factory, types.ModuleType) or not callable(factory):
        raise LayerError(f"layer {name!r}: its entry point must name a factory taking the settings, not {factory!r}")
    return factory(settings)


def build_manager(settings: Settings, enabled: set[str] | None = None) -> LayerManager:
    """The manager of the installed layers active in the env's `layers.yaml` (or `enabled`), plus
    the built-ins, each built with `settings`.

    Built once per process, where the process assembles itself (the Dagster `Definitions`, the
    model server's app factory), and handed to the code that calls hooks.
    """
    active = read_state(settings.env_dir).active() if enabled is None else enabled
    return LayerManager(settings, active & set(known_layers()))
