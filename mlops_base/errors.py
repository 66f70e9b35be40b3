"""Short error text for skip reasons, HTTP details and logs: clients' exceptions (MLflow's carry
whole tracebacks of retries) reduced to their first line."""

from __future__ import annotations


def first_line(exc: BaseException, limit: int = 200) -> str:
    """The first line of the error's message (its type when it has none), at most `limit` characters."""
    text = str(exc).strip()
    line = text.splitlines()[0] if text else type(exc).__name__
    return line if len(line) <= limit else line[: limit - 3] + "..."
