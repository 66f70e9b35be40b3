"""The prod storage stack on one machine: a real PostgreSQL and an S3 endpoint, started and stopped by PID.

PostgreSQL is Debian's `postgresql` (its own data dir, run as the `postgres` user when we are root:
`initdb` refuses root). No S3 server can be installed on these machines, so the S3 endpoint is
`moto` in server mode; everything that talks to it uses the real S3 API through boto3.
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlparse

import boto3
import psycopg2
from botocore.exceptions import ClientError

from mlops_base.settings import Settings
from mlops_platform import processes

PG_USER = "mlops"
DATABASES = ("dagster", "mlflow")
# moto accepts any key pair; these only look like credentials so that clients sign requests
MOTO_ACCESS_KEY = "moto-local"
MOTO_SECRET_KEY = "moto-local-secret"


Process = Literal["dagster", "mlflow", "serving"]


class StorageError(RuntimeError):
    pass


def postgres_bin(name: str) -> str:
    """A PostgreSQL server program: Debian keeps them off PATH, under /usr/lib/postgresql/<v>/bin."""
    versions = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda path: int(Path(path).parts[4]))
    found = versions[-1] if versions else shutil.which(name)  # the newest Debian one, else PATH's
    if not found:
        raise StorageError(f"PostgreSQL's {name} not found: install the Debian package postgresql")
    return found


def _as_postgres() -> list[str]:
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


def _give_to_postgres(path: Path) -> None:
    if os.geteuid() == 0:
        shutil.chown(path, "postgres", "postgres")


@dataclass
class Postgres:
    """A local cluster: its data dir, port and the password of its one role."""

    root: Path
    port: int

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    def password(self) -> str:
        """Generated at `initdb`, kept beside the cluster (0600), never in a committed file."""
        return (self.root / "password").read_text().strip()

    def url(self, database: str) -> str:
        # the driver named: SQLAlchemy 2.1 defaults `postgresql://` to psycopg 3, dagster-postgres ships psycopg2
        return f"postgresql+psycopg2://{PG_USER}:{self.password()}@127.0.0.1:{self.port}/{database}"

    def dsn(self, database: str) -> str:
        return self.url(database).replace("+psycopg2", "")

    def init(self) -> None:
        """Create the cluster once (password auth on loopback only)."""
        if (self.data_dir / "PG_VERSION").is_file():
            return
        self.root.mkdir(parents=True, exist_ok=True)
        password_file = self.root / "password"
        descriptor = os.open(password_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as out:  # 0600 from its creation, never world-readable
            out.write(secrets.token_urlsafe(24))
        handoff = self.root / "initdb.pw"  # initdb runs as postgres: it gets its own copy, removed after
        shutil.copy(password_file, handoff)
        _give_to_postgres(self.root)
        _give_to_postgres(handoff)
        if (
            os.geteuid() == 0
            and subprocess.run(
                ["runuser", "-u", "postgres", "--", "test", "-x", str(self.root)], capture_output=True
            ).returncode
        ):
            raise StorageError(f"the postgres user cannot reach {self.root}: set MLOPS_STATE_DIR to a directory it can")
        try:
            result = subprocess.run(
                [
                    *_as_postgres(),
                    postgres_bin("initdb"),
                    "-D",
                    str(self.data_dir),
                    "-U",
                    PG_USER,
                    f"--pwfile={handoff}",
                    "-A",
                    "scram-sha-256",
                    "-E",
                    "UTF8",
                    "--no-instructions",
                ],
                capture_output=True,
                text=True,
            )
        finally:
            handoff.unlink(missing_ok=True)
        if result.returncode:
            raise StorageError(f"initdb failed: {result.stderr.strip()}")

    def command(self) -> list[str]:
        # TCP on loopback only, no Unix socket (its default directory belongs to the Debian service)
        return [
            *_as_postgres(),
            postgres_bin("postgres"),
            "-D",
            str(self.data_dir),
            "-p",
            str(self.port),
            "-c",
            "listen_addresses=127.0.0.1",
            "-k",
            "",
        ]

    def start(self, log_path: Path, timeout_s: float = 60, empty: bool = False) -> processes.Service:
        """Start the cluster (created on first use); `empty` drops and recreates its databases."""
        self.init()
        service = processes.start("postgres", self.command(), log_path, f"postgresql://127.0.0.1:{self.port}")
        try:
            processes.wait_until(service, self.accepts_connections, timeout_s)
            self.create_databases(empty)
        except BaseException:
            processes.stop(service)
            raise
        return service

    def accepts_connections(self) -> bool:
        try:
            psycopg2.connect(self.dsn("postgres"), connect_timeout=2).close()
            return True
        except psycopg2.OperationalError:
            return False

    def create_databases(self, empty: bool = False) -> None:
        connection = psycopg2.connect(self.dsn("postgres"))
        connection.autocommit = True
        try:
            with connection.cursor() as cursor:
                for name in DATABASES:
                    if empty:
                        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
                    cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
                    if not cursor.fetchone():
                        cursor.execute(f'CREATE DATABASE "{name}"')
        finally:
            connection.close()


def start_s3(port: int, log_path: Path) -> processes.Service:
    """moto's S3-compatible server on loopback (a stand-in: no S3 server can be installed here)."""
    return processes.start_ready(
        "s3",
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        log_path,
        f"http://127.0.0.1:{port}",
        "/moto-api/",
        timeout_s=60,
    )


def s3_client(settings: Settings):
    """A boto3 S3 client of the env's local S3 endpoint."""
    return boto3.client(
        "s3",
        endpoint_url=settings.s3_endpoint_url,
        aws_access_key_id=MOTO_ACCESS_KEY,
        aws_secret_access_key=MOTO_SECRET_KEY,
        region_name="us-east-1",
    )


def ensure_bucket(client, bucket: str) -> None:
    try:
        client.head_bucket(Bucket=bucket)
    except ClientError:
        client.create_bucket(Bucket=bucket)


def loopback_port(url: str) -> int | None:
    parsed = urlparse(url)
    return parsed.port if parsed.hostname in ("127.0.0.1", "localhost") and parsed.port else None


def runs_locally(settings: Settings) -> bool:
    """A postgres-s3 env whose S3 endpoint is on loopback is run on this machine (prod-local)."""
    return settings.storage == "postgres-s3" and loopback_port(settings.s3_endpoint_url) is not None


def postgres(settings: Settings) -> Postgres:
    return Postgres(settings.state_dir / "postgres", settings.postgres_port)


def private_state_dir(settings: Settings) -> Path:
    """The env's state dir, readable by this user only (0700): it holds secrets, the registry and the
    prediction log. A local PostgreSQL run by root lives below it as the postgres user, which must
    pass through it: then 0711 (no one else may list it; each file keeps its own mode)."""
    path = settings.state_dir
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.chmod(0o711 if runs_locally(settings) and os.geteuid() == 0 else 0o700)
    return path


def generated_secret(settings: Settings, name: str) -> str:
    """Generated once per local env and kept in its state dir (a 0700 dir, the file 0600 from its
    creation), never in a committed file."""
    path = settings.state_dir / "secrets" / name
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as out:
            out.write(secrets.token_urlsafe(32))
    return path.read_text().strip()


def local_secrets(settings: Settings, component: Process) -> dict[str, str]:
    """The secrets `component` needs, as environment variables, for a stack this machine runs: a
    local env without a RELOAD_SECRET_TOKEN or FEEDBACK_TOKEN of its own gets one generated into its
    state dir."""
    generated = {}
    if component != "mlflow":
        for name, value in (
            ("RELOAD_SECRET_TOKEN", settings.reload_secret_token),
            ("FEEDBACK_TOKEN", settings.feedback_token),
        ):
            if not value or (name == "RELOAD_SECRET_TOKEN" and runs_locally(settings)):
                generated[name] = generated_secret(settings, name)
    if not runs_locally(settings):
        return generated
    cluster = postgres(settings)
    if not (cluster.root / "password").is_file():
        raise StorageError(
            f"env {settings.mlops_env!r} has no local PostgreSQL yet: run ./mlops up --env {settings.mlops_env} first"
        )
    s3 = {"AWS_ACCESS_KEY_ID": MOTO_ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": MOTO_SECRET_KEY}
    if component == "mlflow":
        return {
            "MLFLOW_BACKEND_STORE_URI": cluster.url("mlflow"),
            "MLFLOW_S3_ENDPOINT_URL": settings.s3_endpoint_url,
            **s3,
        }
    if component == "serving":  # S3: the evaluation layer copies its prediction log there
        return {**s3, **generated}
    return {"DAGSTER_PG_URL": cluster.url("dagster"), **s3, **generated}


def start_local_storage(settings: Settings, log_dir: Path) -> list[processes.Service]:
    """PostgreSQL (with the dagster and mlflow databases) and the S3 endpoint (with the env's bucket).

    Both start empty: moto keeps objects in memory only, and a registry whose artifacts are gone
    would serve nothing.
    """
    services = [postgres(settings).start(log_dir / "postgres.log", empty=True)]
    try:
        services.append(start_s3(loopback_port(settings.s3_endpoint_url), log_dir / "s3.log"))
        ensure_bucket(s3_client(settings), settings.s3_bucket)
    except BaseException:
        for service in reversed(services):
            processes.stop(service)
        raise
    return services
