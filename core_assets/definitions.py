"""The one place that decides the env and assembles the code location's Definitions.

Every process that loads the code location (the code server, the daemon, each run) runs this once:
it loads the env's settings, builds the layer manager from them, and hands both on as resources.
"""

from dagster import AssetKey, Definitions, in_process_executor, map_asset_specs

from core_assets import logs
from core_assets.assets import (
    features,
    registered_model_version,
    served_alias,
    trained_model,
)
from core_assets.batch import build_batch
from core_assets.checks import quality_gate, replay_gate
from core_assets.instance import io_managers
from core_assets.jobs import build_jobs
from core_assets.lib.training import TrainingSpec, training_code_version
from core_assets.model_card import model_card
from core_assets.probe import build_probe
from core_assets.resources import build_resources
from core_assets.sensors import RAMP_SPEC, build_sensors
from layer_api.manager import LayerManager, build_manager
from mlops_base import log_context, tracing
from mlops_base.settings import Settings, load_settings


def _with_training_code_version(settings: Settings):
    """trained_model's code version follows the training code (ours and the team's) and the env's parameters."""
    version = training_code_version(TrainingSpec.of(settings))
    return lambda spec: spec.replace_attributes(code_version=version) if spec.key == AssetKey("trained_model") else spec


def build_definitions(settings: Settings, layers: LayerManager | None = None) -> Definitions:
    """The core graph, merged with whatever the env's enabled optional layers contribute (`layers`:
    the manager of the env's `layers.yaml` unless one is given)."""
    settings.require_secrets("dagster")
    tracing.configure("mlops-dagster", settings.otel_exporter_otlp_endpoint)  # off unless the endpoint is set
    layers = layers or build_manager(settings)
    handlers = layers.logging_handlers("dagster")
    log_context.attach(handlers)  # the code location's own loggers: sensors, lifecycle events
    logs.route_to(handlers)  # the runs' own log, through the instance's python_logs handler
    jobs = build_jobs(settings)
    batch, probe = build_batch(settings), build_probe(settings)
    core = Definitions(
        assets=map_asset_specs(
            _with_training_code_version(settings), [features, trained_model, registered_model_version, served_alias]
        )
        + [model_card, RAMP_SPEC, *batch["assets"]],
        asset_checks=[quality_gate, replay_gate, *probe["asset_checks"]],
        jobs=[*jobs, *batch["jobs"], *probe["jobs"]],
        schedules=probe["schedules"],
        sensors=[*build_sensors(jobs), *batch["sensors"]],
        resources={**build_resources(settings, layers), **io_managers(settings)},
        # one process per run: the multiprocess executor costs ~6 s per step on this machine
        executor=in_process_executor,
    )
    return Definitions.merge(core, *layers.dagster_definitions())


defs = build_definitions(load_settings())
