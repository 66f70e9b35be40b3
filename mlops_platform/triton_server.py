"""The Triton Inference Server shipped in the nvidia-pytriton wheel, run from a venv of its own
(`.mlops/triton/venv`, installed by `./mlops` from `triton_env/requirements.txt`: the wheel needs
numpy<2). Loopback only, explicit model control, the model-repository API restricted to holders
of an admin key (the model server)."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from mlops_base.settings import REPO_ROOT
from mlops_platform import processes
from serving.runtimes.triton import ADMIN_HEADER

VENV = REPO_ROOT / ".mlops" / "triton" / "venv"
RESTRICTED = "model-repository,model-config"  # loading, unloading and reading configs


@dataclass(frozen=True)
class TritonInstall:
    venv: Path

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    @property
    def site_packages(self) -> Path:
        return self.venv / "lib" / "python3.11" / "site-packages"

    @property
    def server_dir(self) -> Path:
        return self.site_packages / "pytriton" / "tritonserver"

    @property
    def binary(self) -> Path:
        return self.server_dir / "bin" / "tritonserver"


def unavailable(install: TritonInstall) -> str | None:
    """Why Triton cannot run here, or None."""
    if not install.binary.is_file():
        return f"no Triton server at {install.binary} (./mlops test installs the Triton venv)"
    try:
        done = subprocess.run(
            [str(install.binary), "--help"],
            env=server_env(install),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except OSError as exc:
        return f"{install.binary} cannot run here: {exc}"
    if "--model-control-mode" not in done.stdout + done.stderr:
        return f"{install.binary} cannot run here: {(done.stderr or done.stdout).strip()[-300:]}"
    return None


def _libdir(install: TritonInstall) -> str:
    """The lib dir of the interpreter behind the venv: the Python backend's stub links its libpython."""
    done = subprocess.run(
        [str(install.python), "-c", "import sysconfig; print(sysconfig.get_config_var('LIBDIR'))"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    return done.stdout.strip()


def server_env(install: TritonInstall) -> dict[str, str]:
    return {
        "LD_LIBRARY_PATH": _libdir(install),
        # the stub's embedded interpreter imports the models' libraries (numpy<2, scikit-learn) from the venv
        "PYTHONPATH": str(install.site_packages),
        "PATH": f"{install.venv / 'bin'}:/usr/bin:/bin",
    }


def backends(install: TritonInstall) -> Path:
    """The backend dir, with the Python backend's stub for this Python next to it (the wheel keeps
    one stub per Python version aside)."""
    python_backend = install.server_dir / "backends" / "python"
    stub = python_backend / "triton_python_backend_stub"
    if not stub.is_file():
        shutil.copy2(install.server_dir / "python_backend_stubs" / "3.11" / stub.name, stub)
    return install.server_dir / "backends"


def command(install: TritonInstall, repository: Path, ports: tuple[int, int, int], admin_key: str) -> list[str]:
    http, grpc, metrics = ports
    return [
        str(install.binary),
        f"--model-repository={repository}",
        "--model-control-mode=explicit",
        f"--backend-directory={backends(install)}",
        "--strict-readiness=true",
        "--exit-timeout-secs=5",
        "--http-address=127.0.0.1",
        f"--http-port={http}",
        "--grpc-address=127.0.0.1",
        f"--grpc-port={grpc}",
        "--metrics-address=127.0.0.1",
        f"--metrics-port={metrics}",
        f"--http-restricted-api={RESTRICTED}:{ADMIN_HEADER}={admin_key}",
        f"--grpc-restricted-protocol={RESTRICTED}:{ADMIN_HEADER}={admin_key}",
    ]


def start(repository: Path, log_dir: Path, admin_key: str, install: TritonInstall | None = None) -> processes.Service:
    """A Triton server on loopback ports, ready (no model loaded: explicit model control)."""
    install = install or TritonInstall(VENV)
    repository.mkdir(parents=True, exist_ok=True)
    ports = processes.free_ports(3)  # HTTP, gRPC, metrics: Triton refuses two on one port
    return processes.start_ready(
        "triton",
        command(install, repository, ports, admin_key),
        log_dir / f"triton-{ports[0]}.log",
        f"http://127.0.0.1:{ports[0]}",
        "/v2/health/ready",
        server_env(install),
        timeout_s=120,
    )
