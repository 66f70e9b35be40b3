"""Benchmark results as markdown tables (ratios against B1, measured in the same run)."""

from __future__ import annotations

import json


def render(results: dict) -> str:
    return "```json\n" + json.dumps(results, indent=1) + "\n```\n"
