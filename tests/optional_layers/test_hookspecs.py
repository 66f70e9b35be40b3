"""Every hook is specified once, documented, and carries the project marker."""

from __future__ import annotations

import inspect

from layer_api import hookspecs

SPECS = [f for name, f in inspect.getmembers(hookspecs, inspect.isfunction) if name.startswith("mlops_")]


def test_the_expected_hooks_exist():
    assert {f.__name__ for f in SPECS} == {
        "mlops_layer_info",
        "mlops_dagster_definitions",
        "mlops_serving_startup",
        "mlops_serving_protocols",
        "mlops_feature_source",
        "mlops_lifecycle_event",
        "mlops_serving_event",
        "mlops_logging_handlers",
        "mlops_gitops_files",
        "mlops_release_check",
        "mlops_request_rows",
        "mlops_request_rows_in_memory",
        "mlops_metric_values",
        "mlops_metric_samples",
        "mlops_prediction_recorder",
        "mlops_batch_observer",
        "mlops_labelled_traffic",
        "mlops_ramp_evidence",
        "mlops_card_facts",
        "mlops_replay_rows",
    }


def test_every_hookspec_is_documented_and_marked():
    for spec in SPECS:
        assert spec.__doc__ and len(spec.__doc__.strip()) > 20, f"{spec.__name__} is undocumented"
        assert hasattr(spec, f"{hookspecs.PROJECT}_spec"), f"{spec.__name__} lacks the hookspec marker"
