"""The Dagster code location: assets, checks, jobs and resources of the core graph."""
