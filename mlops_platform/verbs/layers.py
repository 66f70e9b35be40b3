"""`mlops layers`: list the optional layers, or turn them on/off per env (and in the cluster)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlops_base.settings import Settings

HELP = "list optional layers, or turn them on/off per env"


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "action",
        choices=["list", "on", "off", "render"],
        help="render: regenerate the env's root-optional and the layers' GitOps files",
    )
    parser.add_argument("layer", nargs="?", help="one layer; omitted: the whole optional set")
    cluster_mode = parser.add_mutually_exclusive_group()
    cluster_mode.add_argument(
        "--apply", action="store_true", help="also run the kubectl commands against the current context"
    )
    cluster_mode.add_argument(
        "--dry-run", action="store_true", help="write nothing: print the file changes and the kubectl commands"
    )


def run(settings: Settings, args: argparse.Namespace) -> int:
    """Toggle a layer or the optional set in the env's files (layers.yaml and its root-optional),
    and show, run (--apply) or only preview (--dry-run, nothing written) what changes in the cluster."""
    from layer_api.state import read_state
    from mlops_platform import cluster, gitops, layer_toggle
    from mlops_platform.verbs.output import error

    if args.action == "list":
        print("\n".join(layer_toggle.describe(settings.mlops_env, read_state(settings.env_dir))))
        return 0
    try:
        change = layer_toggle.plan(settings.env_dir, args.action, args.layer)
    except layer_toggle.UnknownLayer as exc:
        return error(str(exc))
    if args.dry_run:
        print(f"dry run: nothing written, nothing applied ({change.lines[0]})")
        root = gitops.repo_root(settings.env_dir)
        for path, text in change.files.items():
            print(gitops.diff(root, path, text), end="")
    else:
        layer_toggle.apply(change)
        print("\n".join(change.lines))
    steps = cluster.commands(change)
    if not steps:
        return 0
    if args.dry_run or not args.apply:
        print(f"in the cluster, once pushed to git ({'would run' if args.dry_run else 'run, or use --apply'}):")
        print("\n".join(cluster.shown(steps)))
        return 0
    ok, why = cluster.reachable()
    if not ok:
        print(f"no Kubernetes cluster reachable ({why}): changed the files only; once one is, run:")
        print("\n".join(cluster.shown(steps)))
        return 0
    return cluster.run(steps)
