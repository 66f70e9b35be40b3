"""Triton runtime: the version exported into Triton's model repository, loaded there through the
key-restricted repository API (with `tritonclient`), and scored over one kept-alive HTTP connection
(`serving.runtimes.triton_http`).

Each runtime owns one Triton model (named after the version plus a unique suffix), so the old one
keeps serving while the new one loads, and unloading one alias's model never touches another's.
The model server's micro-batches reach Triton as one request each (sharing the client's cost per
call); Triton's dynamic batching joins those of both aliases' callers further.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
import threading
import uuid
from pathlib import Path

import numpy as np
import tritonclient.http as triton_http
from tritonclient.utils import InferenceServerException

from mlops_base import tracing
from mlops_base.mlflow_client import first_line
from mlops_base.settings import Settings
from serving.model_source import download
from serving.runtimes.base import ModelLoadError, ModelRef, ModelRuntime, RuntimeInfo, RuntimeUnavailable
from serving.runtimes.model_meta import flavour_of, read_mlmodel, signature_inputs
from serving.runtimes.safe_load import LoadPolicy
from serving.runtimes.triton_export import INPUT, OUTPUT, ExportError, export, skops_file, triton_name
from serving.runtimes.triton_http import TritonCallError, TritonConnection

ADMIN_HEADER = "x-mlops-admin-key"  # Triton's restricted repository API answers only holders of this key
_DATATYPE = {np.dtype("float64"): "FP64"}
# the messages of a Triton that lost the model (restarted, unloaded by hand): the variant is down, not the input bad
_MODEL_GONE = ("unknown model", "is not ready", "not found")

log = logging.getLogger("serving.runtimes.triton")


def _trace_headers() -> dict[str, str] | None:
    """The request's trace context for Triton (its own tracing joins the trace); None when off."""
    return tracing.inject({}) if tracing.enabled() else None


class TritonRuntime(ModelRuntime):
    backend = "triton"
    inline_rows = 0  # every prediction awaits Triton
    # one call at a time: what arrives meanwhile goes in the next one (measured at 1 row x 32
    # connections: 3,012 req/s uncapped, 3,199 with 2 in flight, 4,504 with 1)
    max_in_flight = 1

    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self._url = settings.triton_url
        self._host = settings.triton_url.split("://", 1)[1]
        self._headers = {ADMIN_HEADER: settings.triton_admin_key}
        self._timeout_s = settings.triton_timeout_s
        self._repository = settings.triton_repository
        self._policy = LoadPolicy.of(settings)
        self._max_rows = settings.max_rows
        self._name: str | None = None
        self._aio: TritonConnection | None = None
        self._aio_loop: asyncio.AbstractEventLoop | None = None
        self._local = threading.local()  # tritonclient's sync client is not thread-safe: one per thread

    def _client(self) -> triton_http.InferenceServerClient:
        client = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = triton_http.InferenceServerClient(
                self._host, connection_timeout=self._timeout_s, network_timeout=self._timeout_s
            )
        return client

    def load(self, ref: ModelRef, artifact_uri: str) -> None:
        label = f"{ref.model_name} v{ref.version}"
        name = f"{triton_name(ref.model_name, ref.version)}-{uuid.uuid4().hex[:8]}"
        with tempfile.TemporaryDirectory(prefix="serving-model-") as tmp:
            try:
                local = download(ref, artifact_uri, tmp, self._policy.allow_unverified)
                meta = read_mlmodel(Path(local))
                self._policy.check_flavour(flavour_of(meta), label)
                columns, example = signature_inputs(meta, Path(local), label)
                self._repository.mkdir(parents=True, exist_ok=True)
                trusted_types = self._policy.skops_types(skops_file(Path(local), meta), label)
                repository, max_rows = self._repository, self._max_rows
                export(Path(local), meta, repository, ref.model_name, ref.version, max_rows, trusted_types, name)
            except ModelLoadError:
                raise
            except ExportError as exc:
                raise ModelLoadError(f"cannot serve {label} on Triton: {exc}") from exc
            except Exception as exc:  # corrupt or missing artifacts of any kind
                raise ModelLoadError(f"cannot load {label}: {type(exc).__name__}: {first_line(exc)}") from exc
        self._name = name
        try:
            self._triton_load(label)
        except ModelLoadError:
            self._release()
            raise
        self.info = RuntimeInfo(ref=ref, columns=columns, input_example=example.to_numpy(dtype=np.float64))

    def _triton_load(self, label: str) -> None:
        client = self._client()
        try:
            client.load_model(self._name, headers=self._headers)
            ready = client.is_model_ready(self._name)
        except InferenceServerException as exc:
            raise ModelLoadError(f"Triton refused to load {label}: {exc.message()}", status=502) from exc
        except Exception as exc:  # refused connection, timeout: Triton is down or slow
            raise ModelLoadError(f"Triton at {self._url} unreachable while loading {label}: {exc}", status=503) from exc
        if not ready:
            raise ModelLoadError(f"Triton loaded {label} but does not report it ready", status=502)

    def smoke_test(self) -> None:
        try:
            super().smoke_test()
        except ModelLoadError:
            self._release()
            raise

    def _inputs(self, rows: np.ndarray) -> list:
        tensor = triton_http.InferInput(INPUT, list(rows.shape), _DATATYPE[rows.dtype])
        tensor.set_data_from_numpy(rows, binary_data=True)
        return [tensor]

    def predict(self, rows: np.ndarray) -> np.ndarray:
        """Blocking, for worker threads (the smoke test, shadow scoring)."""
        assert self._name is not None
        try:
            result = self._client().infer(
                self._name,
                self._inputs(rows),
                outputs=[triton_http.InferRequestedOutput(OUTPUT, binary_data=True)],
                headers=_trace_headers(),
            )
        except InferenceServerException as exc:
            raise self._error(exc) from exc
        except Exception as exc:
            raise RuntimeUnavailable(f"Triton at {self._url} unreachable: {type(exc).__name__}: {exc}") from exc
        return result.as_numpy(OUTPUT).reshape(-1)

    async def predict_async(self, rows: np.ndarray) -> np.ndarray:
        """For the event loop: one kept-alive connection of this runtime's (`triton_http`)."""
        assert self._name is not None
        if self._aio is None:  # bound to the loop that first scores (the server's)
            self._aio_loop = asyncio.get_running_loop()
            host, _, port = self._host.rpartition(":")
            self._aio = TritonConnection(host, int(port), self._timeout_s)
        try:
            return await self._aio.infer(self._name, INPUT, OUTPUT, rows, _trace_headers())
        except TritonCallError as exc:
            raise self._error(str(exc)) from exc
        except RuntimeUnavailable as exc:
            raise RuntimeUnavailable(f"Triton at {self._url} unreachable: {exc}") from exc

    def _error(self, exc: InferenceServerException | str) -> Exception:
        message = exc if isinstance(exc, str) else exc.message() or str(exc)
        if any(marker in message for marker in _MODEL_GONE):
            return RuntimeUnavailable(f"Triton no longer serves this version's model ({message}); reload the alias")
        return ValueError(message)

    def unload(self) -> None:
        """On the event loop (a swap, a request's last lease) in the background, for Triton's unload
        waits for its requests; elsewhere (the server's shutdown) before returning."""
        if self._aio is not None and self._aio_loop is not None and not self._aio_loop.is_closed():
            self._aio_loop.call_soon_threadsafe(self._aio.close)
        self._aio = None
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            self._release()
        else:
            threading.Thread(target=self._release, name=f"triton-unload-{self._name}", daemon=True).start()
        super().unload()

    def _release(self) -> None:
        """Unload the model from Triton and delete its export; failures are logged, never raised."""
        if self._name is None:
            return
        try:
            self._client().unload_model(self._name, headers=self._headers)
        except Exception as exc:  # Triton down: it has lost the model anyway
            log.warning("could not unload %s from Triton: %s", self._name, exc)
        shutil.rmtree(self._repository / self._name, ignore_errors=True)
