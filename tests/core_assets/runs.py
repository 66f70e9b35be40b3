"""Run the code location's jobs in-process, as the UI or a sensor would launch them."""

from dagster import AssetKey, Definitions

from core_assets.instance import io_managers
from core_assets.resources import build_resources
from layer_api.manager import build_manager

REGISTER_ONLY = {AssetKey("features"), AssetKey("trained_model"), AssetKey("registered_model_version")}


def run_job(defs: Definitions, instance, name: str, run_config: dict | None = None):
    return defs.resolve_job_def(name).execute_in_process(
        instance=instance, run_config=run_config or {}, raise_on_error=False
    )


def register(defs: Definitions, instance, run_config: dict | None = None):
    """Train, gate and register without releasing (as a UI materialization of just those assets):
    the readiness sensor's case."""
    job = defs.resolve_implicit_global_asset_job_def().get_subset(asset_selection=REGISTER_ONLY)
    return job.execute_in_process(instance=instance, run_config=run_config or {}, raise_on_error=False)


def release(defs: Definitions, instance):
    """A registration, then deploy_job, as the readiness sensor chains them."""
    trained = register(defs, instance)
    assert trained.success, trained.all_events
    deployed = run_job(defs, instance, "deploy_job")
    assert deployed.success
    return trained, deployed


def step_failure(result) -> str:
    """The message of the run's one failed step."""
    [failure] = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    return failure.event_specific_data.error.message


def resources(settings) -> dict:
    """The code location's resources for `settings` (as `build_definitions` assembles them), with
    the manager of its env's layers."""
    return {**build_resources(settings, build_manager(settings)), **io_managers(settings)}
