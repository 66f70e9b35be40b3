"""`python -m demo [--releases N]` (what `./mlops demo` runs)."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from demo.flow import run_demo


def main() -> int:
    parser = argparse.ArgumentParser(prog="mlops demo", description=__doc__)
    parser.add_argument("--releases", type=int, default=3, help="releases to time (default 3)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mlops-demo-") as state:
        report = run_demo(Path(state), args.releases)
    return 0 if report.rolled_back else 1


if __name__ == "__main__":
    sys.exit(main())
