"""The plugin manager: loads enabled layers from the entry-point group, blocks disabled ones
before they are imported, and wraps each hook in a typed method the core calls. There is no
global one: `build_manager` makes it where the settings are made, and it is passed on."""

from __future__ import annotations

import logging
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

import pluggy

from optional_layers import hookspecs
from optional_layers.hookspecs import PROJECT, AnsweredPrediction, LayerInfo
from optional_layers.state import read_state

if TYPE_CHECKING:
    import pandas as pd
    from dagster import Definitions
    from fastapi import FastAPI

    from mlops_base.settings import Component, Settings

ENTRY_POINT_GROUP = "mlops.layers"
BUILTIN = {"alerts"}  # always on; registered through the entry-point group like any layer

log = logging.getLogger("mlops.layers")


def known_layers() -> list[str]:
    """Optional layers installed in this environment (entry points of the group, minus built-ins)."""
    return sorted({ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)} - BUILTIN)


class LayerManager:
    def __init__(self, enabled: set[str]):
        self.pm = pluggy.PluginManager(PROJECT)
        self.pm.add_hookspecs(hookspecs)
        for name in known_layers():
            if name not in enabled:
                self.pm.set_blocked(name)  # never imported
        self.pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
        self.pm.check_pending()
        # per hook: the implementations seen and their per-subscriber callers (events run per request)
        self._callers: dict[str, tuple[list, list[tuple[str, Any]]]] = {}

    def loaded(self) -> list[str]:
        return sorted(name for name, plugin in self.pm.list_name_plugin() if plugin is not None)

    def layer_infos(self) -> list[LayerInfo]:
        return list(self.pm.hook.mlops_layer_info())

    def gitops_files(self) -> dict[str, str]:
        return {path: text for files in self.pm.hook.mlops_gitops_files() for path, text in files.items()}

    def dagster_definitions(self, settings: Settings) -> list[Definitions]:
        return [d for d in self.pm.hook.mlops_dagster_definitions(settings=settings) if d is not None]

    def serving_startup(self, app: FastAPI, settings: Settings) -> None:
        self.pm.hook.mlops_serving_startup(
            app=app, settings=settings, metric_values=self.metric_values, metric_samples=self.metric_samples
        )

    def feature_source(self, dataset: pd.DataFrame, settings: Settings) -> pd.DataFrame | None:
        return self.pm.hook.mlops_feature_source(dataset=dataset, settings=settings)

    def release_refusals(self, model_name: str, version: str, settings: Settings) -> list[str]:
        reasons = self.pm.hook.mlops_release_check(model_name=model_name, version=version, settings=settings)
        return [reason for reason in reasons if reason]

    def provides_request_rows(self) -> bool:
        return bool(self.pm.hook.mlops_request_rows.get_hookimpls())

    def request_rows_in_memory(
        self, document: dict[str, Any], model_name: str, version: str, feature_names: list[str], settings: Settings
    ) -> list[list[float]] | None:
        return self.pm.hook.mlops_request_rows_in_memory(
            document=document, model_name=model_name, version=version, feature_names=feature_names, settings=settings
        )

    def request_rows(
        self, document: dict[str, Any], model_name: str, version: str, feature_names: list[str], settings: Settings
    ) -> list[list[float]] | None:
        return self.pm.hook.mlops_request_rows(
            document=document, model_name=model_name, version=version, feature_names=feature_names, settings=settings
        )

    def prediction_recorder(self, app: FastAPI, settings: Settings) -> Callable[[AnsweredPrediction], None] | None:
        """One function calling every layer's recorder (None when no layer records): asked once,
        called per request without a hook call's cost."""
        recorders = [r for r in self.pm.hook.mlops_prediction_recorder(app=app, settings=settings) if r is not None]
        if not recorders:
            return None

        def record(prediction: AnsweredPrediction) -> None:
            for recorder in recorders:
                try:
                    recorder(prediction)
                except Exception:  # a recorder that breaks its contract never fails the answered request
                    log.exception("a layer failed to record prediction %s", prediction.request_id)

        return record

    def lifecycle_event(self, event: str, payload: dict[str, Any], settings: Settings) -> None:
        self._notify("mlops_lifecycle_event", event=event, payload=payload, settings=settings)

    def serving_event(self, event: str, payload: dict[str, Any], settings: Settings) -> None:
        self._notify("mlops_serving_event", event=event, payload=payload, settings=settings)

    def logging_handlers(self, settings: Settings, component: Component) -> list[logging.Handler]:
        return [
            h
            for handlers in self.pm.hook.mlops_logging_handlers(settings=settings, component=component)
            for h in handlers
        ]

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


def build_manager(settings: Settings) -> LayerManager:
    """The manager of the installed layers active in the env's `layers.yaml`, plus the built-ins.

    Built once per process, where the process assembles itself (the Dagster `Definitions`, the
    model server's app factory), and handed to the code that calls hooks.
    """
    return LayerManager(read_state(settings.env_dir).active() & set(known_layers()))
