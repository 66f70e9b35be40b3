"""Shared fixtures: one real `mlflow server` per session, a fresh model name per test; and the tiers.

The fast tier (`./mlops test --fast`) is every test that starts no real process: a test is in the
full tier only when it takes a fixture below that runs one, or is marked `real` (its module starts
servers itself). The full suite (`./mlops test`) runs both."""

from __future__ import annotations

import atexit
import json
import os
import shutil
import tempfile
import threading
import uuid
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import prometheus_client  # noqa: F401 - in-process metric values, before feast's import would switch them to files
import pytest

from mlops_base.settings import REPO_ROOT, Settings, load_settings
from mlops_platform import processes
from mlops_platform import triton_server as triton
from tests import hermetic
from tests.support import TRITON_KEY, RegisteredModel, register_trained, start_mlflow, train_versions

os.environ.update(processes.QUIET_ENV)
RECORD_DURATIONS = os.environ.get("MLOPS_RECORD_DURATIONS")  # read before the scrub below removes it
hermetic.scrub_environment(os.environ)
# hypothesis (schemathesis' engine) keeps its database in ./.hypothesis unless told otherwise
os.environ["HYPOTHESIS_STORAGE_DIRECTORY"] = _HYPOTHESIS_DIR = tempfile.mkdtemp(prefix="hypothesis-")
atexit.register(shutil.rmtree, _HYPOTHESIS_DIR, True)

_STATE_KEY = pytest.StashKey[dict]()
# fixtures that start a real process (MLflow, Triton, Pushgateway, Redis) or need one
REAL_FIXTURES = {"mlflow_server", "mlflow_state", "triton_install", "pushgateway", "redis_url", "redis_service"}


# the repository's own state dir: what the suite's processes (not only this one) must leave alone
REPO_STATE = REPO_ROOT / ".mlops"
DURATIONS = Path(__file__).with_name("durations.json")  # seconds per test file: the parallel run's order


def pytest_sessionstart(session):
    if not hasattr(session.config, "workerinput"):  # the controller, with or without xdist
        skip = hermetic.not_the_suites(REPO_STATE)
        session.config.stash[_STATE_KEY] = (skip, hermetic.snapshot(REPO_STATE, skip))


def pytest_sessionfinish(session, exitstatus):
    target = RECORD_DURATIONS
    if target and _seconds and not hasattr(session.config, "workerinput"):
        known = json.loads(Path(target).read_text()) if Path(target).exists() else {}
        measured = {**known, **{file: round(seconds, 1) for file, seconds in _seconds.items()}}
        Path(target).write_text(json.dumps(dict(sorted(measured.items(), key=lambda kv: -kv[1])), indent=1) + "\n")
    skip, before = session.config.stash.get(_STATE_KEY, ((), None))
    if before is None:
        return
    written = hermetic.changed(before, hermetic.snapshot(REPO_STATE, skip))
    if written:
        session.config.get_terminal_writer().line(
            f"the suite wrote into the repository's {REPO_STATE}: {written[:20]}", red=True
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_collection_modifyitems(config, items):
    for item in items:
        if REAL_FIXTURES & set(item.fixturenames) and not item.get_closest_marker("real"):
            item.add_marker(pytest.mark.real)
    # the longest files first (as a CI run measured them; then those with slow tests): the parallel
    # run hands out whole files in this order (`--no-loadscope-reorder`), so the longest start at
    # once instead of ending the run alone. Only the order: a stale file costs time, never a result.
    measured = json.loads(DURATIONS.read_text()) if DURATIONS.exists() else {}
    slow_files = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: (-measured.get(_file_of(item.nodeid), 0.0), item.path not in slow_files))


def _file_of(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def pytest_runtest_logreport(report):
    """Per test file, the seconds its tests took (setup, call, teardown): written to
    MLOPS_RECORD_DURATIONS at the end of the run, as the order of the next runs (tests/durations.json)."""
    if RECORD_DURATIONS:
        _seconds[_file_of(report.nodeid)] = _seconds.get(_file_of(report.nodeid), 0.0) + report.duration


_seconds: dict[str, float] = {}


@pytest.fixture(scope="session")
def mlflow_state(tmp_path_factory) -> Path:
    """Where the session's MLflow server keeps its database and artifacts."""
    return tmp_path_factory.mktemp("mlflow-state")


@pytest.fixture(scope="session")
def mlflow_server(mlflow_state: Path) -> str:
    service = start_mlflow(mlflow_state, processes.free_port())
    try:
        yield service.url
    finally:
        processes.stop(service)


@pytest.fixture
def settings(mlflow_server: str, tmp_path: Path) -> Settings:
    """Dev settings pointed at the test server, with a model name of this test's own."""
    return load_settings(
        "dev",
        mlflow_tracking_uri=mlflow_server,
        model_name=f"test-model-{uuid.uuid4().hex[:8]}",
        mlflow_experiment="tests",
        mlops_state_dir=tmp_path / "state",
        serving_url="",
    )


@pytest.fixture(scope="session")
def trained_pair(mlflow_server) -> list:
    """Two trained and logged models, trained once: every registered test model's versions."""
    return train_versions(mlflow_server)


@pytest.fixture(scope="session")
def shared_model(mlflow_server, trained_pair) -> RegisteredModel:
    """Read-only for tests: A = v1 (logistic regression), B = v2 (a depth-1 tree that disagrees)."""
    return register_trained(mlflow_server, trained_pair)


@pytest.fixture
def fresh_model(mlflow_server, trained_pair) -> RegisteredModel:
    """A model of this test's own, free to move aliases on (its versions' artifacts are shared:
    a test that tampers with artifacts registers a version of its own)."""
    return register_trained(mlflow_server, trained_pair)


@pytest.fixture(scope="session")
def triton_install() -> triton.TritonInstall:
    """The Triton of the nvidia-pytriton wheel (its venv installed by `./mlops test`). Skips, saying
    why, where the binary cannot run; never a fake server."""
    install = triton.TritonInstall(triton.VENV)
    why = triton.unavailable(install)
    if why:
        pytest.skip(why)
    return install


@pytest.fixture(scope="session")
def triton_server(triton_install, tmp_path_factory) -> tuple[processes.Service, Path]:
    """A real Triton and its model repository, empty at start (explicit model control)."""
    install = triton_install
    repository = tmp_path_factory.mktemp("triton-repository")
    service = triton.start(repository, tmp_path_factory.mktemp("triton-logs"), TRITON_KEY, install)
    try:
        yield service, repository
    finally:
        processes.stop(service)


@pytest.fixture
def pushgateway(tmp_path) -> str:
    """A real Pushgateway (Debian `prometheus-pushgateway`, installed by `./mlops test`)."""
    port = processes.free_port()
    service = processes.start_ready(
        # Debian's build persists to /var/lib by default: this one keeps its own file
        "pushgateway",
        [
            "prometheus-pushgateway",
            f"--web.listen-address=127.0.0.1:{port}",
            f"--persistence.file={tmp_path / 'pushgateway.data'}",
        ],
        tmp_path / "pushgateway.log",
        f"http://127.0.0.1:{port}",
        "/-/ready",
    )
    try:
        yield service.url
    finally:
        processes.stop(service)


@pytest.fixture
def webhook():
    """A Slack-compatible webhook (a real local HTTP server): its URL and the messages it received."""
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(json.loads(self.rfile.read(int(self.headers["content-length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/hook", received
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


# set by libraries themselves, not by tests: put back after each module instead of failing it
RESTORED_VARIABLES = {
    "MLFLOW_TRACKING_URI": "mlflow.set_tracking_uri exports it for the fluent API training uses",
    "MLFLOW_EXPERIMENT_ID": "mlflow.set_experiment exports it likewise",
    "PROMETHEUS_MULTIPROC_DIR": "feast sets it when imported",
    "PROMETHEUS_MULTIPROCESS_DIR": "feast sets it when imported",
    "KMP_DUPLICATE_LIB_OK": "scikit-learn sets it when imported",
    "KMP_INIT_AT_FORK": "scikit-learn sets it when imported",
}


@pytest.fixture(autouse=True, scope="module")
def _environment_left_as_found():
    """A test module that leaves os.environ changed leaks its env (MLOPS_ENV, DAGSTER_HOME, ...) into
    every later one: it fails here, naming the variables (set them with monkeypatch instead).

    Exempt: pytest's own PYTEST_CURRENT_TEST, the bounded MLflow client's retry defaults (set once per
    process on purpose), and RESTORED_VARIABLES, which are put back."""
    before = dict(os.environ)
    yield
    for name in RESTORED_VARIABLES:
        if name in before:
            os.environ[name] = before[name]
        else:
            os.environ.pop(name, None)
    changed = sorted(
        name
        for name in set(before) | set(os.environ)
        if before.get(name) != os.environ.get(name)
        and name != "PYTEST_CURRENT_TEST"
        and not name.startswith("MLFLOW_HTTP_REQUEST_")
    )
    assert not changed, f"this module left environment variables changed: {changed}"


@pytest.fixture(scope="session", autouse=True)
def _writes_stay_in_temporary_directories(tmp_path_factory):
    """Records the files this process opens for writing outside its temporary directories (the
    repository's `.mlops/`, the home directory, ...): see `tests.hermetic`."""
    guard = hermetic.WriteGuard(tmp_path_factory.getbasetemp())
    guard.install()
    yield guard


@pytest.fixture(autouse=True)
def _no_write_outside_temporary_directories(_writes_stay_in_temporary_directories, request):
    """Fails the test that wrote outside its temporary directories, naming the files."""
    guard = _writes_stay_in_temporary_directories
    guard.violations.clear()
    yield
    assert not guard.violations, f"{request.node.nodeid} wrote outside its temporary directories: {guard.violations}"
