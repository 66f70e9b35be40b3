"""Monitoring layer: Prometheus metrics of the model server and of releases."""
