"""The daily commands (`status`, `rollback`, `promote`, `predict`, `logs`, `reset`, `layers`, `traffic`): each
prints for people, one line on error (never a traceback), and returns the documented exit code."""

from __future__ import annotations

import argparse
import difflib
import sys
from pathlib import Path

import httpx
from dagster_graphql import DagsterGraphQLClientError

from layer_api.state import read_state
from mlops_base.settings import Settings
from mlops_platform import cluster, gitops, layer_toggle, levers, predict, runtime, state_files, status, traffic
from mlops_platform.dagster_client import DagsterClient


def _registry_and_dagster(settings: Settings) -> tuple[str, DagsterClient]:
    running = runtime.running(settings)
    if running is None:
        raise status.Unreachable(f"the {settings.mlops_env} platform is not running: start it with ./mlops up")
    return running.urls["mlflow"], DagsterClient(settings.dagster_port)


def lever(settings: Settings, args: argparse.Namespace) -> int:
    """rollback or promote, printing the outcome: 0 moved and verified, 1 the run failed, 2 refused."""
    try:
        registry_url, dag = _registry_and_dagster(settings)
        if args.command == "rollback":
            outcome = levers.rollback(settings, registry_url, dag, args.alias, args.to, args.reason)
        else:
            outcome = levers.promote(settings, registry_url, dag, args.reason)
    except levers.Refused as exc:
        print(f"error: {exc}; nothing changed", file=sys.stderr)
        return 2
    except (status.Unreachable, httpx.HTTPError, DagsterGraphQLClientError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(outcome.text, file=sys.stdout if outcome.ok else sys.stderr)
    return 0 if outcome.ok else 1


def _printed(text: str, problems: list[str]) -> int:
    """A report for people, its problems on stderr: exit 1 when it found any."""
    print(text)
    if problems:
        print(f"error: {'; '.join(problems)}", file=sys.stderr)
        return 1
    return 0


def show_status(settings: Settings, history: int) -> int:
    running = runtime.running(settings)
    try:
        report = status.status(settings, running, history)
    except status.Unreachable as exc:
        hint = "" if running else f" (no local platform of env {settings.mlops_env} runs: ./mlops up)"
        print(f"error: {exc}{hint}", file=sys.stderr)
        return 2
    return _printed(report.text, report.problems)


def predict_command(settings: Settings, args: argparse.Namespace) -> int:
    url = (args.url or runtime.local_serving_url(settings)).rstrip("/")
    try:
        if args.file == "-":
            text, kind = sys.stdin.read(), args.format
        else:
            path = Path(args.file)
            text, kind = path.read_text(), args.format or {".csv": "csv", ".json": "json"}.get(path.suffix.lower())
        request = predict.body(text, kind)
    except (OSError, predict.BadInput) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        response = predict.predict(url, request, args.variant, args.client_id)
    except httpx.HTTPError as exc:
        print(f"error: no answer from the model server at {url} ({type(exc).__name__}); ./mlops up?", file=sys.stderr)
        return 2
    if response.is_success:
        print(response.text)
        return 0
    try:
        detail = response.json().get("detail", response.text)
    except ValueError:
        detail = response.text
    print(f"error: {response.status_code} from {url}: {detail}", file=sys.stderr)
    return 1


def logs(settings: Settings, service: str | None, lines: int, follow: bool) -> int:
    try:
        state_files.show_logs(settings, service, lines, follow)
    except state_files.NotFound as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    return 0


def reset(settings: Settings, yes: bool) -> int:
    state = settings.state_dir
    if runtime.running(settings):
        print(f"error: the {settings.mlops_env} platform is running: stop it (Ctrl-C) before a reset", file=sys.stderr)
        return 2
    if not state.exists():
        print(f"nothing to reset: {state} does not exist")
        return 0
    if not yes:
        if not sys.stdin.isatty():
            print("error: reset deletes the env's state; confirm with --yes (stdin is not a terminal)", file=sys.stderr)
            return 2
        answer = input(f"delete {state} (registry, artifacts, Dagster runs, logs) of env {settings.mlops_env}? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("nothing deleted")
            return 0
    try:
        print(f"deleted {runtime.shown(state_files.reset(settings))}; envs/{settings.mlops_env}/ is unchanged")
    except (OSError, state_files.NotFound) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def traffic_command(url: str, n: int) -> int:
    url = url.rstrip("/")
    try:
        measured = traffic.report(url, n)
    except (httpx.HTTPError, ValueError, KeyError) as exc:  # down, or not a model server
        print(f"error: cannot measure the model server at {url}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    return _printed(measured.text, measured.problems)


def layers(settings: Settings, action: str, layer: str | None, apply: bool = False, dry_run: bool = False) -> int:
    """Toggle a layer or the optional set in the env's files (layers.yaml and its root-optional),
    and show, run (--apply) or only preview (--dry-run, nothing written) what changes in the cluster."""
    if action == "list":
        print("\n".join(layer_toggle.describe(settings.mlops_env, read_state(settings.env_dir))))
        return 0
    try:
        change = layer_toggle.plan(settings.env_dir, action, layer)
    except layer_toggle.UnknownLayer as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if dry_run:
        print(f"dry run: nothing written, nothing applied ({change.lines[0]})")
        root = gitops.repo_root(settings.env_dir)
        for path, text in change.files.items():
            print(gitops_diff(root, path, text), end="")
    else:
        layer_toggle.apply(change)
        print("\n".join(change.lines))
    steps = cluster.commands(change)
    if not steps:
        return 0
    if dry_run or not apply:
        print(f"in the cluster, once pushed to git ({'would run' if dry_run else 'run, or use --apply'}):")
        print("\n".join(cluster.shown(steps)))
        return 0
    ok, why = cluster.reachable()
    if not ok:
        print(f"no Kubernetes cluster reachable ({why}): changed the files only; once one is, run:")
        print("\n".join(cluster.shown(steps)))
        return 0
    return cluster.run(steps)


def gitops_diff(root: Path, path: Path, text: str) -> str:
    """A unified diff of what writing `text` to `path` changes, named relative to `root`."""
    name = path.resolve().relative_to(root.resolve())
    before = path.read_text().splitlines(keepends=True) if path.is_file() else []
    return "".join(difflib.unified_diff(before, text.splitlines(keepends=True), f"a/{name}", f"b/{name}"))
