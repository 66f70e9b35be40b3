"""Rendering the GitOps tree offline, as Argo CD would: `kubectl kustomize` for every kustomization,
and the core ApplicationSet expanded into its Applications (its go-templates evaluated by a small
renderer for the subset the ApplicationSet uses)."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import re
import subprocess
from pathlib import Path

import yaml

from mlops_base.settings import REPO_ROOT

ENVS = ("dev", "prod")
COMPONENTS = ("storage", "mlflow", "tracing", "dagster", "serving")
REPO_URL = "https://github.com/mlops-platform/mlops-platform.git"
CRDS = Path(os.environ.get("MLOPS_ARGOCD_CRDS", REPO_ROOT.parent / "shared" / "vendor" / "argocd-crds"))


def component_dir(root: Path, env: str, component: str) -> Path:
    """The storage app is the env folder itself (its settings files live there); the others overlay
    the bases from a folder each."""
    return root / "envs" / env if component == "storage" else root / "envs" / env / component


def core_roots(root: Path = REPO_ROOT) -> list[Path]:
    """Every kustomization of the core: the bootstrap, what root syncs, every env's components."""
    return [
        root / "gitops" / "bootstrap",
        root / "gitops" / "root",
        *(component_dir(root, env, c) for env in ENVS for c in COMPONENTS),
    ]


def optional_roots(root: Path = REPO_ROOT) -> list[Path]:
    layer_apps = sorted(p.parent for p in (root / "gitops" / "optional").glob("**/kustomization.yaml"))
    return [*layer_apps, *(root / "envs" / env / "optional" for env in ENVS)]


def kustomize(path: Path) -> str:
    done = subprocess.run(["kubectl", "kustomize", str(path)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"kubectl kustomize {path} failed: {done.stderr}"
    return done.stdout


def documents(text: str) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(text) if doc]


def render(path: Path) -> list[dict]:
    return documents(kustomize(path))


def core_digest(root: Path) -> str:
    """sha256 over the rendered core, root by root: what toggling a layer must never change."""
    digest = hashlib.sha256()
    for path in core_roots(root):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + kustomize(path).encode())
    return digest.hexdigest()


# --- the ApplicationSet's go-templates --------------------------------------------------------

_ACTION = re.compile(r"{{(-?)\s*(.*?)\s*(-?)}}", re.S)


def go_template(text: str, params: dict) -> str:
    """`{{.key}}`, `{{ if eq .key "literal" }}`, `{{ else }}`, `{{ end }}` and `{{-`/`-}}` trimming,
    with missingkey=error, as the ApplicationSet's goTemplateOptions ask."""
    out: list[str] = []
    emitting = [True]
    pos, trim_next = 0, False
    for match in _ACTION.finditer(text):
        chunk = text[pos : match.start()]
        if trim_next:
            chunk = chunk.lstrip()
        if match.group(1):
            chunk = chunk.rstrip()
        if all(emitting):
            out.append(chunk)
        action, trim_next, pos = match.group(2), bool(match.group(3)), match.end()
        if action.startswith("if "):
            _, op, key, literal = action.split(maxsplit=3)
            assert op == "eq", f"unsupported template action {action!r}"
            emitting.append(str(params[key.lstrip(".")]) == json.loads(literal))
        elif action == "else":
            emitting[-1] = not emitting[-1]
        elif action == "end":
            emitting.pop()
        elif all(emitting):
            out.append(str(params[action.lstrip(".")]))
    tail = text[pos:]
    out.append(tail.lstrip() if trim_next else tail)
    return "".join(out)


def _fill(node, params: dict):
    if isinstance(node, str):
        return go_template(node, params)
    if isinstance(node, list):
        return [_fill(item, params) for item in node]
    if isinstance(node, dict):
        return {key: _fill(value, params) for key, value in node.items()}
    return node


def _merge(base, patch):
    """Strategic merge as Argo CD applies templatePatch to an Application: maps merge, null deletes,
    lists are replaced."""
    if not isinstance(base, dict) or not isinstance(patch, dict):
        return patch
    merged = dict(base)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = _merge(base.get(key), value)
    return merged


def expand(appset: dict) -> list[dict]:
    """The Applications an ApplicationSet of one matrix of two list generators generates."""
    spec = appset["spec"]
    [generator] = spec["generators"]
    lists = [g["list"]["elements"] for g in generator["matrix"]["generators"]]
    apps = []
    for left, right in itertools.product(*lists):
        params = {**left, **right}
        app = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", **_fill(spec["template"], params)}
        app["metadata"].setdefault("namespace", appset["metadata"]["namespace"])
        if "templatePatch" in spec:
            app = _merge(app, yaml.safe_load(go_template(spec["templatePatch"], params)))
        apps.append(app)
    return apps


def core_applications(root: Path = REPO_ROOT) -> list[dict]:
    [appset] = [d for d in render(root / "gitops" / "root") if d["kind"] == "ApplicationSet"]
    return expand(appset)


def sources(app: dict) -> list[dict]:
    spec = app["spec"]
    return spec.get("sources") or [spec["source"]]
