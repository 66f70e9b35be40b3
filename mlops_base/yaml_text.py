"""YAML as a person writes it, for every generated manifest (the launcher's and the layers')."""

from __future__ import annotations

import yaml


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (patches, rules, embedded files) as literal blocks."""


_Dumper.add_representer(
    str,
    lambda dumper, text: dumper.represent_scalar("tag:yaml.org,2002:str", text, style="|" if "\n" in text else None),
)


def dump_yaml(document: dict) -> str:
    return yaml.dump(document, Dumper=_Dumper, sort_keys=False, width=120)
