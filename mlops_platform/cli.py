"""`mlops`: start the local platform, see and move what it serves (status, rollback, promote),
predict, materialize, toggle layers, check the traffic split, and (through the `./mlops` script,
which installs what they need first) run the tests and the benchmarks.

The env's settings are loaded once, here, and passed to each command.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import signal
import sys
import time

import httpx
from dagster_graphql import DagsterGraphQLClientError

from mlops_base.aliases import Alias
from mlops_base.mlflow_client import bounded_client
from mlops_base.settings import REPO_ROOT, Settings, SettingsError, load_settings
from mlops_platform import commands, processes, release_watch, run_output, runtime
from mlops_platform.dagster_client import DagsterClient
from mlops_platform.env_watch import EnvWatcher
from mlops_platform.reaper import Reaper
from mlops_platform.stack import BIN, check_ports, dagster_env, say, start_platform, stop_platform


class _Stop(Exception):
    pass


def _raise_stop(signum, frame):
    raise _Stop()


def materialize(settings: Settings, select: str) -> int:
    """Materialize assets into the running platform's instance, so runs show in its UI; a release
    reaches every replica the platform runs."""
    command = [str(BIN / "dagster"), "asset", "materialize", "-m", "core_assets.definitions", "--select", select]
    env = {**os.environ, **dagster_env(settings)}
    running = runtime.running(settings)
    if running and running.urls.get("balancer"):  # `up --replicas N`: the release reloads and verifies each
        env["SERVING_REPLICA_URLS"] = ",".join(running.serving_urls)
    log = settings.state_dir / "logs" / "materialize.log"
    return run_output.run_condensed(command, log, say, cwd=REPO_ROOT, env=env)


def first_start(settings: Settings, tracking_uri: str, serving_url: str) -> None:
    """An empty registry gets a first model: train, then the readiness sensor serves it; it becomes champion."""
    client = bounded_client(tracking_uri)
    if client.search_model_versions(f"name='{settings.model_name}'", max_results=1):
        return
    say("  first start: training and releasing the first model (no manual step)...")
    local = settings.model_copy(update={"mlflow_tracking_uri": tracking_uri})
    dag = DagsterClient(settings.dagster_port)
    try:
        release = release_watch.release_and_wait(dag, local, serving_url)
        say(f"  {release.line()}")
        if settings.target_alias == Alias.A:  # released straight to the champion
            return
        if dag.wait(dag.submit("promote_job")) == "SUCCESS":
            served = release.version
            release_watch.wait_for("A served", lambda: release_watch.served_version(serving_url, "A") == served)
            say(f"  promoted v{release.version} to champion A: /predict and /ready answer")
    except (RuntimeError, TimeoutError, httpx.HTTPError, DagsterGraphQLClientError) as exc:
        say(
            f"  warning: the first release did not complete ({exc}); the platform stays up: "
            "see the runs in the Dagster UI"
        )


def up(settings: Settings, replicas: int = 0) -> int:
    """Start the platform and keep it up until Ctrl-C, SIGTERM or a closed terminal (SIGHUP); whatever
    ends the launcher, SIGKILL included, ends every process it started (the reaper sees to it)."""
    check_ports(settings, replicas)
    say(f"mlops: starting env {settings.mlops_env!r} (state: {runtime.shown(settings.state_dir)})")
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, _raise_stop)
    reaper = Reaper()
    services: list[processes.Service] = []
    try:
        services = start_platform(settings, replicas, on_start=lambda service: reaper.watch(service.process.pid))
        by_name = {service.name: service.url for service in services}
        runtime.record(settings, by_name)
        # with replicas, the first one is watched: the balancer answers only once the champion is served
        first_start(settings, by_name["mlflow"], by_name.get("serving-1", by_name.get("serving", "")))
        say("\nPlatform up:")
        for service in services:
            say(f"  {service.name:<10} {service.url}")
        watched = f"{settings.env_dir.parent.name}/{settings.env_dir.name}/"
        say(f"Press Ctrl-C to stop. Edits under {watched} reload the code location.")
        with EnvWatcher(settings.env_dir, DagsterClient(settings.dagster_port).reload_location, say):
            while True:
                for service in services:
                    if service.process.poll() is not None:
                        say(f"error: {service.name} exited ({service.process.returncode}); see {service.log_path}")
                        return 1
                time.sleep(1)
    except _Stop:
        say("\nmlops: stopping...")
        return 0
    except processes.ServiceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        for sig in (signal.SIGINT, signal.SIGHUP, signal.SIGTERM):  # nothing may abort the clean stop
            signal.signal(sig, signal.SIG_IGN)
        runtime.forget(settings)
        stop_platform(services, on_stop=lambda service: reaper.forget(service.process.pid))
        reaper.close()
        say("mlops: stopped.")


def mlflow_server(settings: Settings, host: str) -> int:
    """The env's MLflow server in the foreground (a container's command): the same server `up` starts."""
    if settings.storage == "postgres-s3" and not settings.mlflow_backend_store_uri:
        print(
            "error: the MLflow server of a postgres-s3 env needs MLFLOW_BACKEND_STORE_URI (a secret)", file=sys.stderr
        )
        return 2
    command = processes.mlflow_server_command(
        settings.state_dir,
        settings.mlflow_port,
        settings.mlflow_artifacts_destination,
        settings.mlflow_allowed_hosts,
        host=host,
    )
    os.execve(command[0], command, {**os.environ, **processes.MLFLOW_SERVER_ENV})
    return 0  # not reached


EXIT_CODES = """exit codes: 0 done; 1 the command ran and found a problem (e.g. `traffic`: a share outside
its interval, or failed requests); 2 it could not run (bad arguments or settings, a server it needs
unreachable); 130 interrupted (Ctrl-C)."""
ENV_HELP = "env under envs/ (default: $MLOPS_ENV or dev); before or after the command"


def _script_only(sub, name: str, help_text: str, flags: list[tuple[str, str]]) -> argparse.ArgumentParser:
    """A command the `./mlops` script runs itself (it installs Debian packages and venvs first):
    listed here, so that help shows it, and handed back to the script if reached."""
    command = sub.add_parser(name, help=help_text, add_help=False)
    command.set_defaults(script_only=name)
    for flag, flag_help in flags:
        command.add_argument(flag, action="store_true", help=flag_help)
    return command


def build_parser() -> argparse.ArgumentParser:
    """Every command and flag (the CLI reference is generated from it)."""
    parser = argparse.ArgumentParser(
        prog="mlops", description=__doc__, epilog=EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"mlops {importlib.metadata.version('mlops-platform')}")
    parser.add_argument("--env", default=None, help=ENV_HELP)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    parsers: list[argparse.ArgumentParser] = []

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        found = sub.add_parser(name, help=help_text, description=help_text)
        parsers.append(found)
        return found

    up_parser = command("up", "start the local platform (MLflow, model server, Dagster) until Ctrl-C")
    up_parser.add_argument(
        "--replicas",
        type=int,
        default=0,
        metavar="N",
        help="N model-server replicas behind HAProxy on SERVING_PORT (the replicas on the N ports after it)",
    )
    status_parser = command(
        "status", "aliases, the version each replica serves, the last moves and the layers (exit 1: a replica differs)"
    )
    status_parser.add_argument("-n", type=int, default=5, metavar="N", help="how many recent moves (default 5)")
    rollback_parser = command("rollback", "point an alias back at an earlier version, through rollback_job")
    rollback_parser.add_argument(
        "--alias", type=Alias, choices=list(Alias), default=None, help="A or B (default: TARGET_ALIAS)"
    )
    rollback_parser.add_argument(
        "--to", metavar="VERSION", default=None, help="the version to restore (default: the one before the last move)"
    )
    promote_parser = command("promote", "the champion A takes the challenger B's version, through promote_job")
    for p in (rollback_parser, promote_parser):
        p.add_argument("--reason", default="", help="recorded in the alias history (default: says what moved)")
    predict_parser = command("predict", "send rows from a JSON or CSV file (or - for stdin) to the model server")
    predict_parser.add_argument("file", help="a .json or .csv file, or - to read stdin")
    predict_parser.add_argument("--format", choices=["json", "csv"], default=None, help="default: from the suffix")
    predict_parser.add_argument("--url", default=None, help="model server (default: this env's local one)")
    predict_parser.add_argument("--variant", type=Alias, choices=list(Alias), default=None, help="ask one alias")
    predict_parser.add_argument("--client-id", default=None, help="sticky routing key (x-client-id)")
    logs_parser = command("logs", "show the local platform's logs (one service, or each)")
    logs_parser.add_argument("service", nargs="?", help="mlflow, serving, dagster, ... (default: each)")
    logs_parser.add_argument("-n", type=int, default=20, metavar="N", help="lines per log (default 20)")
    logs_parser.add_argument("-f", "--follow", action="store_true", help="keep printing what is appended")
    reset_parser = command("reset", "delete the env's local state (registry, runs, artifacts, logs) after confirming")
    reset_parser.add_argument("--yes", action="store_true", help="do not ask (required without a terminal)")
    mat_parser = command("materialize", "materialize assets into the local instance")
    mat_parser.add_argument("--select", default="*", help="asset selection (default: the whole graph)")
    layers_parser = command("layers", "list optional layers, or turn them on/off per env")
    layers_parser.add_argument(
        "action",
        choices=["list", "on", "off", "render"],
        help="render: regenerate the env's root-optional and the layers' GitOps files",
    )
    layers_parser.add_argument("layer", nargs="?", help="one layer; omitted: the whole optional set")
    cluster_mode = layers_parser.add_mutually_exclusive_group()
    cluster_mode.add_argument(
        "--apply", action="store_true", help="also run the kubectl commands against the current context"
    )
    cluster_mode.add_argument(
        "--dry-run", action="store_true", help="write nothing: print the file changes and the kubectl commands"
    )
    traffic_parser = command(
        "traffic", "measure the model server's traffic split (exit 1: a share outside its interval or failed requests)"
    )
    traffic_parser.add_argument("-n", type=int, default=2000, help="requests to send (default 2000)")
    traffic_parser.add_argument("--url", default=None, help="model server (default: this env's local one)")
    mlflow_parser = command("mlflow-server", "run the env's MLflow server in the foreground")
    mlflow_parser.add_argument("--host", default="127.0.0.1", help="address to bind (a pod: 0.0.0.0)")
    for p in parsers:
        p.add_argument("--env", default=argparse.SUPPRESS, help=ENV_HELP)  # SUPPRESS: keeps one given before
    sub.add_parser(
        "demo", help="run the one-commit flow headless on a throwaway platform (--releases N)", add_help=False
    )
    test_parser = _script_only(
        sub,
        "test",
        "run the whole test suite (installs what it needs first)",
        [("--fast", "only the fast tier: the tests that start no real process")],
    )
    _script_only(sub, "bench", "run the benchmarks into bench/results/ (`./mlops bench --help` for its options)", [])
    # for the CLI reference (demo and bench: their own programs print their help)
    parser.commands = {p.prog.split()[-1]: p for p in (*parsers, test_parser)}
    return parser


def main(argv: list[str] | None = None) -> int:
    """The `mlops` command: a reader that stops reading (`| head`) or a Ctrl-C ends it quietly."""
    try:
        return _main(argv)
    except BrokenPipeError:
        try:  # nothing more can be printed: flushing at exit must not raise again
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return 0
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _main(argv: list[str] | None) -> int:
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    if getattr(args, "script_only", None):
        fast = ["--fast"] if getattr(args, "fast", False) else []
        script = [str(REPO_ROOT / "mlops"), args.script_only, *fast, *rest]
        os.execv(script[0], script)
    if args.command == "demo":  # the demo lives outside the product: its own package, its own process
        os.execv(sys.executable, [sys.executable, "-m", "demo", *rest])
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    try:
        settings = load_settings(args.env)
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.command == "up":
        if args.replicas < 0:
            parser.error("--replicas cannot be negative (0, the default: one model server and no balancer)")
        return up(settings, args.replicas)
    if args.command == "status":
        return commands.show_status(settings, args.n)
    if args.command in ("rollback", "promote"):
        return commands.lever(settings, args)
    if args.command == "predict":
        return commands.predict_command(settings, args)
    if args.command == "logs":
        return commands.logs(settings, args.service, args.n, args.follow)
    if args.command == "reset":
        return commands.reset(settings, args.yes)
    if args.command == "layers":
        return commands.layers(settings, args.action, args.layer, args.apply, args.dry_run)
    if args.command == "mlflow-server":
        return mlflow_server(settings, args.host)
    if args.command == "traffic":
        return commands.traffic_command(args.url or runtime.local_serving_url(settings), args.n)
    return materialize(settings, args.select)


if __name__ == "__main__":
    sys.exit(main())
