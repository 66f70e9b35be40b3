"""A model-server replica that cannot load the versions tagged `tests.refused_by` = its port, and
only those: the fault of one replica in a fleet (`uvicorn --factory
tests.e2e.refusing_replica:create_app`). Fault injection stays in the tests."""

from __future__ import annotations

import os

from fastapi import FastAPI

from mlops_base.mlflow_client import bounded_client
from mlops_base.settings import load_settings
from serving import main
from serving.model_source import RegistrySource
from serving.runtimes.base import ModelLoadError, ModelRef

REFUSED_TAG = "tests.refused_by"


class RefusingSource(RegistrySource):
    def __init__(self, settings, port: str):
        super().__init__(settings)
        self.port = port

    def resolve(self, alias: str) -> tuple[ModelRef, str]:
        ref, uri = super().resolve(alias)
        tags = bounded_client(self.tracking_uri).get_model_version(self.model_name, ref.version).tags
        if tags.get(REFUSED_TAG) == self.port:
            raise ModelLoadError(f"{self.model_name} v{ref.version} cannot load on this replica (test fault)")
        return ref, uri


def create_app() -> FastAPI:
    settings = load_settings()
    return main.create_app(settings, source=RefusingSource(settings, os.environ["REPLICA_PORT"]))
