"""What a layer toggle means for a running cluster: the kubectl commands that attach, refresh or
detach the env's root-optional app and restart the pods that read the layer state."""

from __future__ import annotations

import shlex
import subprocess

from mlops_platform.layer_toggle import Change

LAYER_READERS = "mlops.dev/reads-layers=true"  # the model server and the code location: the plugin manager


def commands(change: Change) -> list[list[str]]:
    """The kubectl commands that bring the cluster to `change.after`, once it is pushed to git
    (Argo CD deploys what git holds); empty when nothing deployed changes."""
    if not change.cluster_changed:
        return []
    env = change.env
    app = f"root-optional-{env}"
    if change.after.attached:
        steps = [
            ["kubectl", "apply", "-f", f"gitops/bootstrap/{app}.yaml"],
            [
                "kubectl",
                "-n",
                "argocd",
                "annotate",
                "application",
                app,
                "argocd.argoproj.io/refresh=hard",
                "--overwrite",
            ],
            [
                "kubectl",
                "-n",
                "argocd",
                "wait",
                f"application/{app}",
                "--for=jsonpath={.status.sync.status}=Synced",
                "--timeout=300s",
            ],
        ]
    else:  # detaching: the app's finalizer deletes the layers' apps and the layer state with it
        steps = [["kubectl", "-n", "argocd", "delete", "application", app, "--ignore-not-found", "--wait=true"]]
    return [*steps, ["kubectl", "-n", f"mlops-{env}", "rollout", "restart", "deployment", "-l", LAYER_READERS]]


def reachable() -> tuple[bool, str]:
    """Whether kubectl's current context answers; else why not."""
    try:
        done = subprocess.run(
            ["kubectl", "version", "--request-timeout=5s"], capture_output=True, text=True, timeout=15, check=False
        )
    except FileNotFoundError:
        return False, "kubectl is not installed"
    except subprocess.TimeoutExpired:
        return False, "kubectl version timed out"
    if done.returncode == 0:
        return True, ""
    reason = (done.stderr.strip().splitlines() or ["no answer"])[-1]
    return False, reason


def run(steps: list[list[str]]) -> int:
    for step in steps:
        print(f"$ {shlex.join(step)}", flush=True)
        code = subprocess.run(step, check=False).returncode
        if code:
            print(f"error: {shlex.join(step)} exited {code}")
            return code
    return 0


def shown(steps: list[list[str]]) -> list[str]:
    return [f"  {shlex.join(step)}" for step in steps]
