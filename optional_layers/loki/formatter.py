"""One JSON object per record: timestamp, level, env, component, logger, message, and what the
record is about (alias, version, run_id, request_id, trace_id) when known. Secrets never appear."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from mlops_base.log_context import request_id
from mlops_base.tracing import current_trace_id

FIELDS = ("alias", "version", "run_id")


def context_of(record: logging.LogRecord) -> dict[str, str]:
    """alias, version, run_id (a Dagster run's own, or given with `extra=`) and the request id."""
    found = {name: str(getattr(record, name)) for name in FIELDS if getattr(record, name, None) is not None}
    meta = getattr(record, "dagster_meta", None)
    if isinstance(meta, dict):
        found.setdefault("run_id", meta.get("run_id") or "")
        if meta.get("step_key"):
            found["step"] = meta["step_key"]
        found = {k: v for k, v in found.items() if v}
    rid = request_id.get()
    if rid:
        found["request_id"] = rid
    trace_id = current_trace_id()  # None unless tracing is on
    if trace_id:
        found["trace_id"] = trace_id
    return found


class JsonFormatter(logging.Formatter):
    def __init__(self, env: str, component: str, secrets: tuple[str, ...] = ()):
        super().__init__()
        self.env, self.component = env, component
        self.secrets = tuple(s for s in secrets if s)

    def message_of(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.exc_info:
            message += "\n" + self.formatException(record.exc_info)
        for secret in self.secrets:  # a secret that slipped into a message is masked, never shipped
            message = message.replace(secret, "***")
        return message

    def document(self, record: logging.LogRecord) -> dict[str, str]:
        return {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="microseconds"),
            "level": record.levelname.lower(),
            "env": self.env,
            "component": self.component,
            "logger": record.name,
            "message": self.message_of(record),
            **context_of(record),
        }

    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(self.document(record), ensure_ascii=False)
