"""Drop entry-point plugins the platform never uses and that cost every process seconds.

Feast 0.67 registers an `mlflow.request_header_provider` (a bearer token from Feast's own request
context, which the platform never sets). MLflow loads every such provider on its first REST call,
so each process that talks to MLflow (every Dagster run, the code location's sensors, the CLI)
imported all of Feast on its first call: ~3 s here, a third of a release. Removing the group from
Feast's installed metadata leaves Feast itself untouched (the feast layer imports it as before).

Run after each install: `./mlops` does after `uv sync`, the image after its own.
"""

from __future__ import annotations

import configparser
import io
import os
import sys
from importlib.metadata import PackageNotFoundError, distribution

# (distribution, entry-point group) pairs the platform's processes must not load
UNWANTED = (("feast", "mlflow.request_header_provider"),)


def drop(dist_name: str, group: str) -> bool:
    """Remove one entry-point group from an installed distribution; True when it was there."""
    try:
        dist = distribution(dist_name)
    except PackageNotFoundError:
        return False
    record = next((f for f in dist.files or () if f.name == "entry_points.txt"), None)
    if record is None:
        return False
    path = dist.locate_file(record)
    parser = configparser.ConfigParser(interpolation=None, delimiters=("=",))
    parser.optionxform = str  # entry-point names are case-sensitive
    parser.read_string(path.read_text())
    if not parser.remove_section(group):
        return False
    text = io.StringIO()
    parser.write(text)
    # a new file renamed over the old one: uv hard-links installed files to its cache, and writing
    # through the link would change the cache and every other venv installed from it
    new = path.with_name(path.name + ".new")
    new.write_text(text.getvalue())
    os.replace(new, path)
    return True


def main() -> None:
    for dist_name, group in UNWANTED:
        if drop(dist_name, group):
            print(f"dropped the unused {group} entry points of {dist_name}", file=sys.stderr)


if __name__ == "__main__":
    main()
