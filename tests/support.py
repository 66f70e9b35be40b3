"""Helpers shared by the tests: real servers started by PID, real registered models."""

from __future__ import annotations

import os
import random
import socket
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import httpx
import mlflow
from fastapi.testclient import TestClient
from mlflow import MlflowClient

import serving
from core_assets.lib.data import builtin_features
from core_assets.lib.training import TrainingSpec, train_and_log
from core_assets.release.registry import register_version
from mlops_base.settings import REPO_ROOT, Settings, load_settings
from mlops_platform import layer_toggle, processes

TOKEN = "test-reload-token-0123456789"
# two sources of outcomes, each with its own feedback credential (FEEDBACK_TOKEN names them)
FEEDBACK = {"labelling": "test-feedback-labelling-0123456789", "support": "test-feedback-support-0123456789"}
FEEDBACK_TOKEN = ",".join(f"{source}:{token}" for source, token in FEEDBACK.items())


def feedback_auth(source: str = "labelling") -> dict[str, str]:
    """The headers of a request sent with `source`'s feedback credential."""
    return {"Authorization": f"Bearer {FEEDBACK[source]}"}


TRITON_KEY = "test-admin-key-0123456789"  # the Triton repository API's admin key in tests
ROW = [5.1, 3.5, 1.4, 0.2]


start_mlflow = processes.start_mlflow
free_port = processes.free_port


def free_port_block(n: int) -> int:
    """The first of `n` consecutive free ports (what `up --replicas` takes after SERVING_PORT), below
    the kernel's ephemeral range: the servers other tests start on `free_port()` never take one."""
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    rng = random.Random()
    for _ in range(200):
        base = rng.randrange(10_000, low - n)
        if not any(processes.port_in_use(port) for port in range(base, base + n)):
            return base
    raise RuntimeError(f"no {n} consecutive free ports below {low}")


@dataclass
class RegisteredModel:
    name: str
    versions: list[str]
    run_ids: list[str]


def train_versions(tracking_uri: str, n_versions: int = 2) -> list:
    """`n_versions` distinct trained and logged models (alternately a logistic regression and a
    depth-1 tree that disagrees with it), ready to register under any name."""
    mlflow.set_tracking_uri(tracking_uri)
    features = builtin_features()
    trained = []
    for i in range(n_versions):
        estimator, params = (
            ("sklearn.linear_model.LogisticRegression", {"C": 1.0, "max_iter": 500})
            if i % 2 == 0
            else ("sklearn.tree.DecisionTreeClassifier", {"max_depth": 1, "random_state": 0})
        )
        trained.append(train_and_log(features, TrainingSpec(estimator=estimator, params=params), "serving-tests", {}))
    return trained


def register_trained(tracking_uri: str, trained: list) -> RegisteredModel:
    """A model of its own name whose versions are `trained` (their runs' artifacts, read-only);
    A -> v1, B -> the last."""
    client = MlflowClient(tracking_uri)
    name = f"serving-{uuid.uuid4().hex[:8]}"
    versions = [str(register_version(client, name, t.model_uri, t.run_id).version) for t in trained]
    client.set_registered_model_alias(name, "A", versions[0])
    client.set_registered_model_alias(name, "B", versions[-1])
    return RegisteredModel(name, versions, [t.run_id for t in trained])


def register_model(tracking_uri: str, n_versions: int = 2) -> RegisteredModel:
    """Train and register `n_versions` distinct models; A -> v1, B -> the last."""
    return register_trained(tracking_uri, train_versions(tracking_uri, n_versions))


def serving_settings(tracking_uri: str, model: RegisteredModel, **overrides) -> Settings:
    return load_settings(
        "dev",
        **{
            "mlflow_tracking_uri": tracking_uri,
            "model_name": model.name,
            "reload_secret_token": TOKEN,
            "feedback_token": FEEDBACK_TOKEN,
            **overrides,
        },
    )


def start_model_server(
    log_dir: Path,
    env: dict[str, str],
    port: int | None = None,
    wait_for_models: bool = True,
    factory: str | None = None,
) -> processes.Service:
    """A real uvicorn process serving `serving.main:create_app` (or another `factory`) on a loopback
    port, answering; with `wait_for_models`, also done with its start-up load (each alias loaded or failed)."""
    port = port or processes.free_port()
    env = {"MLOPS_STATE_DIR": str(log_dir / f"state-{port}"), **env}  # never the repository's .mlops/
    service = processes.start_ready(
        "serving",
        [
            str(Path(sys.executable).parent / "uvicorn"),
            "--factory",
            factory or "serving.main:create_app",
            *serving.UVICORN_FLAGS,  # as shipped
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        log_dir / f"serving-{port}.log",
        f"http://127.0.0.1:{port}",
        "/health",
        env,
    )
    if wait_for_models:
        try:
            loaded = lambda: not httpx.get(f"{service.url}/health", timeout=10).json()["loading"]  # noqa: E731
            processes.wait_until(service, loaded, 120)
        except BaseException:
            processes.stop(service)
            raise
    return service


def start_server(tmp_path: Path, env: dict[str, str], port: int | None = None) -> processes.Service:
    """A real uvicorn model server with the tests' token; stop it with processes.stop."""
    return start_model_server(
        tmp_path, {"RELOAD_SECRET_TOKEN": TOKEN, "FEEDBACK_TOKEN": FEEDBACK_TOKEN, "MLOPS_ENV": "dev", **env}, port
    )


@contextmanager
def serving_client(app, **kwargs) -> Iterator[TestClient]:
    """A TestClient of the model server once its start-up load is done (it loads in the background)."""
    with TestClient(app, **kwargs) as client:
        deadline = time.monotonic() + 120
        while client.get("/health").json()["loading"]:
            assert time.monotonic() < deadline, "the model server's start-up load did not finish"
            time.sleep(0.05)
        yield client


def _json_or_empty(response: httpx.Response) -> dict:
    try:
        body = response.json()
    except ValueError:  # e.g. a load balancer's HTML error page
        return {}
    return body if isinstance(body, dict) else {}


class Hammer:
    """Clients posting predictions to a model server until the block ends, taking `paths` in turn
    with distinct client ids; `outcomes` counts (status, variant, version)."""

    def __init__(
        self,
        url: str,
        workers: int = 4,
        rows=lambda i: [ROW],
        paths: tuple[str, ...] = ("/predict", "/variant/B/predict"),
    ):
        self.outcomes: Counter = Counter()
        self._url, self._rows, self._paths = url, rows, paths
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, args=(w,)) for w in range(workers)]

    def _run(self, worker: int) -> None:
        with httpx.Client(base_url=self._url, timeout=30) as http:
            i = 0
            while not self._stop.is_set():
                try:
                    response = http.post(
                        self._paths[i % len(self._paths)],
                        json={"data": self._rows(i)},
                        headers={"x-client-id": f"w{worker}-{i}"},
                    )
                    status, body = response.status_code, _json_or_empty(response)
                except httpx.HTTPError as exc:  # counted, never a silently dead worker
                    status, body = type(exc).__name__, {}
                with self._lock:
                    self.outcomes[(status, body.get("variant"), body.get("version"))] += 1
                i += 1

    def failed(self) -> int:
        return sum(n for (status, _, _), n in self.outcomes.items() if status != 200)

    def __enter__(self) -> Hammer:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()


@contextmanager
def layer_server(
    tmp_path: Path, tracking_uri: str, model_name: str, envs: Path, env: dict[str, str]
) -> Iterator[tuple[processes.Service, Settings]]:
    """A real model server on `model_name` with the env tree `envs` (its layers toggled) and `env`,
    its state under `tmp_path/state`; and this process's settings wired to it, as Dagster's."""
    state = tmp_path / "state"
    server = start_server(
        tmp_path,
        {
            "MLFLOW_TRACKING_URI": tracking_uri,
            "MODEL_NAME": model_name,
            "MLOPS_STATE_DIR": str(state),
            "MLOPS_ENVS_DIR": str(envs),
            **env,
        },
    )
    try:
        settings = load_settings(
            "dev", mlflow_tracking_uri=tracking_uri, model_name=model_name, mlops_state_dir=state, mlops_envs_dir=envs
        )
        yield server, wired_to(settings, server.url)
    finally:
        processes.stop(server)


def wired_to(settings: Settings, server_url: str) -> Settings:
    """`settings` as the launcher wires a platform: Dagster's MLflow and model server (ports, URL,
    the tests' reload token) are the test MLflow and the server at `server_url`."""
    return settings.model_copy(
        update={
            "mlflow_port": urlparse(settings.mlflow_tracking_uri).port,
            "serving_port": urlparse(server_url).port,
            "serving_url": server_url,
            "reload_secret_token": TOKEN,
        }
    )


def start_daemon(settings: Settings, log_dir: Path, env: dict[str, str] | None = None) -> processes.Service:
    """A real `dagster-daemon run` of the code location, for `settings`' (`wired_to`) instance,
    registry and model server (its sensors tick every 5 s; the first once the workspace has loaded)."""
    from mlops_platform.stack import dagster_env

    return processes.start(
        "dagster-daemon",
        [str(Path(sys.executable).parent / "dagster-daemon"), "run", "-w", str(REPO_ROOT / "workspace.yaml")],
        log_dir / "dagster-daemon.log",
        "",
        {
            **dagster_env(settings),
            "MODEL_NAME": settings.model_name,
            "RELOAD_SECRET_TOKEN": TOKEN,
            "FEEDBACK_TOKEN": FEEDBACK_TOKEN,
            **(env or {}),
        },
    )


def listening_addresses(process_group: int) -> set[tuple[str, int]]:
    """(address, port) of every TCP socket the processes of a group listen on, read from /proc."""
    inodes = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[2]) != process_group:
                continue
            for fd in (stat.parent / "fd").iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
        except (OSError, IndexError, ValueError):
            continue  # the process ended meanwhile
    found = set()
    for table, width in (("tcp", 8), ("tcp6", 32)):
        for line in Path(f"/proc/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                address, port = fields[1].split(":")
                raw = bytes.fromhex(address)
                # /proc prints each 32-bit word in host (little-endian) order
                words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
                host = socket.inet_ntop(socket.AF_INET if width == 8 else socket.AF_INET6, words)
                found.add((host, int(port, 16)))
    return found


def toggle(env_dir: Path, action: str, layer: str | None = None) -> list[str]:
    """What `./mlops layers <action> [layer]` does to an env tree (a test's copy): plan, write, report."""
    change = layer_toggle.plan(env_dir, action, layer)
    layer_toggle.apply(change)
    return change.lines
