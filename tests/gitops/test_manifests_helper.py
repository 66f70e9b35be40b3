"""The offline ApplicationSet renderer the GitOps checks rely on."""

from __future__ import annotations

import pytest

from tests.gitops.manifests import go_template


def test_go_template_substitutes_branches_and_trims():
    text = 'a: {{.x}}\n{{- if eq .c "d" }}\nb: 1\n{{- else }}\nb: 2\n{{- end }}\n'
    assert go_template(text, {"x": "v", "c": "d"}) == "a: v\nb: 1\n"
    assert go_template(text, {"x": "v", "c": "e"}) == "a: v\nb: 2\n"


def test_go_template_refuses_a_missing_key():
    with pytest.raises(KeyError):
        go_template("{{ .nope }}", {})
