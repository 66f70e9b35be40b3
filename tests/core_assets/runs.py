"""Run the code location's jobs in-process, as the UI or a sensor would launch them."""

from dagster import Definitions


def run_job(defs: Definitions, instance, name: str, run_config: dict | None = None):
    return defs.resolve_job_def(name).execute_in_process(
        instance=instance, run_config=run_config or {}, raise_on_error=False
    )


def release(defs: Definitions, instance):
    """train_job then deploy_job, as the sensors will chain them."""
    trained = run_job(defs, instance, "train_job")
    assert trained.success, trained.all_events
    deployed = run_job(defs, instance, "deploy_job")
    assert deployed.success
    return trained, deployed
