"""Offline validation of everything the GitOps tree deploys: yamllint, `kubectl kustomize` of every
root and overlay, `kubernetes-validate --strict` (warnings are failures) on every built-in kind,
the Argo CD kinds against the CRD schemas of argo-cd 3.6 with jsonschema (strict: unknown fields
are refused, as `kubectl apply --validate=strict` would), and promtool on the PrometheusRule.

No API server or Argo CD runs on these machines. Not checked here, and why:
- the kinds of CRDs we have no schema of offline (external-secrets, Prometheus Operator): checked
  structurally in test_structure.py;
- the Helm charts (Dagster, kube-prometheus-stack, Pushgateway, Loki, Alloy) cannot be downloaded
  here: their values are checked against the chart's values.schema.json only when a chart folder
  is given in MLOPS_HELM_CHARTS_DIR (Dagster's run launcher config is validated with dagster-k8s
  itself in tests/envs/test_dagster_helm_values.py).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml

from mlops_base.settings import REPO_ROOT
from tests.gitops.manifests import CRDS, core_applications, core_roots, optional_roots, render

KUBERNETES_VERSION = "1.33.0"
ARGO_KINDS = {
    "Application": "application-crd.yaml",
    "ApplicationSet": "applicationset-crd.yaml",
    "AppProject": "appproject-crd.yaml",
}
# CRD kinds we deploy without a schema available offline
UNCHECKED_CRD_KINDS = {
    ("external-secrets.io/v1", "ExternalSecret"),
    ("monitoring.coreos.com/v1", "PrometheusRule"),
    ("monitoring.coreos.com/v1", "ServiceMonitor"),
}
ALL_ROOTS = [*core_roots(), *optional_roots()]


def _name(path: Path) -> str:
    return str(path.relative_to(REPO_ROOT))


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[dict]]:
    return {_name(path): render(path) for path in ALL_ROOTS}


def test_yamllint_passes_on_the_whole_repository():
    done = subprocess.run(
        [str(REPO_ROOT / ".venv" / "bin" / "yamllint"), "--strict", "."],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_yamllint_catches_a_bad_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: 1\na: 2\nb:   [1,2]\n")
    done = subprocess.run(
        [str(REPO_ROOT / ".venv" / "bin" / "yamllint"), "-c", str(REPO_ROOT / ".yamllint.yaml"), str(bad)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode != 0 and "key-duplicates" in done.stdout


@pytest.mark.parametrize("root", ALL_ROOTS, ids=_name)
def test_every_root_and_overlay_renders(root):
    assert render(root), f"{_name(root)} renders nothing"


def test_built_in_kinds_pass_kubernetes_validate_strict(rendered):
    checked = 0
    for root, docs in rendered.items():
        for doc in docs:
            kind = (doc["apiVersion"], doc["kind"])
            if doc["kind"] in ARGO_KINDS or kind in UNCHECKED_CRD_KINDS:
                continue
            try:
                kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
            except kubernetes_validate.utils.SchemaNotFoundError:
                pytest.fail(
                    f"{root}: no Kubernetes {KUBERNETES_VERSION} schema for {kind} (a typo, or an unlisted CRD kind)"
                )
            except kubernetes_validate.utils.ValidationError as exc:
                pytest.fail(f"{root}: {doc['kind']}/{doc['metadata']['name']}: {exc.message} at {list(exc.path)}")
            checked += 1
    assert checked > 40


def test_kubernetes_validate_strict_refuses_an_unknown_field():
    deployment = yaml.safe_load((REPO_ROOT / "gitops/base/serving/deployment.yaml").read_text())
    deployment["spec"]["template"]["spec"]["containers"][0]["readynessProbe"] = {}
    with pytest.raises(kubernetes_validate.utils.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


def _strict(schema):
    """Refuse unknown fields wherever the CRD lists its fields and does not preserve unknown ones."""
    if isinstance(schema, dict):
        schema = {key: _strict(value) for key, value in schema.items()}
        if (
            schema.get("type") == "object"
            and "properties" in schema
            and not schema.get("x-kubernetes-preserve-unknown-fields")
        ):
            schema.setdefault("additionalProperties", False)
        return schema
    if isinstance(schema, list):
        return [_strict(item) for item in schema]
    return schema


@pytest.fixture(scope="module")
def argo_validators() -> dict[str, jsonschema.Draft7Validator]:
    if not CRDS.is_dir():
        pytest.skip(f"the Argo CD CRD schemas are not at {CRDS} (set MLOPS_ARGOCD_CRDS): Argo CD kinds not checked")
    validators = {}
    for kind, file in ARGO_KINDS.items():
        crd = yaml.safe_load((CRDS / file).read_text())
        [version] = [v for v in crd["spec"]["versions"] if v["name"] == "v1alpha1"]
        validators[kind] = jsonschema.Draft7Validator(_strict(version["schema"]["openAPIV3Schema"]))
    return validators


def _argo_errors(validators, doc) -> list[str]:
    return [
        f"{doc['kind']}/{doc['metadata']['name']}: {e.message} at {list(e.absolute_path)}"
        for e in validators[doc["kind"]].iter_errors(doc)
    ]


def test_argo_cd_kinds_validate_against_the_crd_schemas(rendered, argo_validators):
    argo_docs = [doc for docs in rendered.values() for doc in docs if doc["kind"] in ARGO_KINDS]
    argo_docs += [yaml.safe_load(p.read_text()) for p in (REPO_ROOT / "gitops" / "bootstrap").glob("root-optional-*")]
    argo_docs += core_applications()  # what the ApplicationSet generates
    assert {doc["kind"] for doc in argo_docs} == set(ARGO_KINDS)
    errors = [error for doc in argo_docs for error in _argo_errors(argo_validators, doc)]
    assert not errors, "\n".join(errors)


def test_the_crd_schema_check_refuses_a_misspelt_field(argo_validators):
    app = core_applications()[0]
    app["spec"]["syncPolicy"]["automated"]["selfheal"] = True
    assert _argo_errors(argo_validators, app)


def test_the_prometheus_rule_passes_promtool_and_is_the_rules_file_the_layer_tests(tmp_path):
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (./mlops test installs Debian's prometheus)")
    manifests = render(REPO_ROOT / "gitops" / "optional" / "monitoring" / "manifests")
    [rule] = [doc for doc in manifests if doc["kind"] == "PrometheusRule"]
    source = yaml.safe_load((REPO_ROOT / "optional_layers/monitoring/rules/mlops-alerts.yaml").read_text())
    assert rule["spec"]["groups"] == source["groups"]
    rules = tmp_path / "rules.yaml"
    rules.write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}))
    done = subprocess.run([promtool, "check", "rules", str(rules)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def _helm_values() -> list[tuple[str, Path]]:
    """(chart, values file) of every Helm source of every app, core and optional."""
    apps = core_applications()
    apps += [d for root in optional_roots() for d in render(root) if d["kind"] == "Application"]
    pairs = set()
    for app in apps:
        for source in app["spec"].get("sources") or []:
            for value_file in (source.get("helm") or {}).get("valueFiles", []):
                pairs.add((source["chart"], REPO_ROOT / value_file.removeprefix("$values/")))
    return sorted(pairs)


def test_every_helm_values_file_exists_and_parses():
    pairs = _helm_values()
    assert {chart for chart, _ in pairs} >= {"dagster", "kube-prometheus-stack", "prometheus-pushgateway"}
    for chart, values in pairs:
        assert values.is_file(), f"{chart}: {values} is missing"
        assert isinstance(yaml.safe_load(values.read_text()), dict)


@pytest.mark.parametrize(("chart", "values"), _helm_values(), ids=lambda v: str(v))
def test_helm_values_match_the_chart_schema_when_the_chart_is_available(chart, values):
    charts = os.environ.get("MLOPS_HELM_CHARTS_DIR")
    schema = Path(charts or "/nonexistent") / chart / "values.schema.json"
    if not schema.is_file():
        pytest.skip(
            f"chart {chart} is not available offline (set MLOPS_HELM_CHARTS_DIR to unpacked charts): "
            f"{values.relative_to(REPO_ROOT)} not checked against its values.schema.json"
        )
    jsonschema.validate(yaml.safe_load(values.read_text()), json.loads(schema.read_text()))
