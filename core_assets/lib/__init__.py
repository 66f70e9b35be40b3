"""Plain functions behind the assets, callable (and tested) without Dagster."""
