"""One definition of how the model server runs (`serving.UVICORN_FLAGS`): the launcher, the image,
the Kubernetes Deployment and the bench all run it so; a test per place, failing when one differs."""

from __future__ import annotations

import json

import serving
from bench.targets import this_server
from mlops_base.settings import REPO_ROOT, load_settings
from mlops_platform.stack import _plan
from tests.gitops.manifests import component_dir, render

FACTORY = ["--factory", "serving.main:create_app"]


def _runs_as_shipped(command: list[str]) -> None:
    """The factory, the shipped flags, and nothing else but where it listens."""
    start = command.index("--factory")
    assert command[start : start + 2] == FACTORY, command
    flags = list(serving.UVICORN_FLAGS)
    at = command.index(flags[0])
    assert command[at : at + len(flags)] == flags, command  # in order: an option keeps its value
    options = {arg for arg in command if arg.startswith("--")}
    assert options == {"--factory", *(f for f in flags if f.startswith("--")), "--host", "--port"}, command


def test_the_flags_turn_the_access_log_proxy_headers_and_websockets_off_and_answer_in_one_write():
    assert serving.UVICORN_FLAGS == (
        "--no-proxy-headers",
        "--no-access-log",
        "--http",
        "serving.http_protocol:ModelServerProtocol",
        "--ws",
        "none",
    )


def test_the_launcher_runs_the_shipped_command(tmp_path):
    settings = load_settings("dev", mlops_state_dir=tmp_path)
    for replicas in (0, 2):
        servings = [command for name, command, *_ in _plan(settings, {}, replicas) if name.startswith("serving")]
        assert len(servings) == max(1, replicas)
        for command in servings:
            _runs_as_shipped(command)


def test_the_image_runs_the_shipped_command():
    cmd = (REPO_ROOT / "Dockerfile").read_text().rstrip().splitlines()[-1]
    _runs_as_shipped(json.loads(cmd.removeprefix("CMD ")))


def test_the_deployment_runs_the_shipped_command():
    for env in ("dev", "prod"):
        [deployment] = [d for d in render(component_dir(REPO_ROOT, env, "serving")) if d["kind"] == "Deployment"]
        [container] = [c for c in deployment["spec"]["template"]["spec"]["containers"] if c["name"] == "serving"]
        _runs_as_shipped(container["command"])


def test_the_bench_measures_the_shipped_command():
    _runs_as_shipped(this_server("ours", "this server", {}).command(8000))
