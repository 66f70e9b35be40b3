"""The bottom of the platform: what every part shares and nothing else.

The one `Settings` class and the env decision (`settings`), the alias type (`aliases`) and the
bounded MLflow client (`mlflow_client`). It imports only third-party libraries, so the model
server, the Dagster code location, the layers and the launcher can all sit on it.
"""
