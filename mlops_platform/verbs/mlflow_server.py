"""`mlops mlflow-server`: the env's MLflow server in the foreground (a container's command)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlops_base.settings import Settings

HELP = "run the env's MLflow server in the foreground"


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (a pod: 0.0.0.0)")


def run(settings: Settings, args: argparse.Namespace) -> int:
    """The same server `up` starts, exec'd in place of this process."""
    import os

    from mlops_platform import processes
    from mlops_platform.verbs.output import error

    if settings.storage == "postgres-s3" and not settings.mlflow_backend_store_uri:
        return error("the MLflow server of a postgres-s3 env needs MLFLOW_BACKEND_STORE_URI (a secret)")
    command = processes.mlflow_server_command(
        settings.state_dir,
        settings.mlflow_port,
        settings.mlflow_artifacts_destination,
        settings.mlflow_allowed_hosts,
        host=args.host,
    )
    os.execve(command[0], command, {**os.environ, **processes.MLFLOW_SERVER_ENV})
    return 0  # not reached
