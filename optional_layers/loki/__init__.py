"""The logging layer: the platform's logs as JSON lines, pushed to Loki and (model server) kept in
a rotating file under the env's state dir."""
