"""What a log record is about, for whoever formats it: the request id of the request being served
(set by the model server per request) and the component of the process."""

from __future__ import annotations

import contextvars
import logging

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

# the platform's own loggers all sit under these names; layers' handlers are attached here
PLATFORM_LOGGERS = ("mlops", "serving", "core_assets")


def attach(handlers: list[logging.Handler]) -> None:
    """Attach handlers to the platform's loggers, once each (assembly may run more than once)."""
    if not handlers:
        return
    for name in PLATFORM_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET or logger.level > logging.INFO:
            logger.setLevel(logging.INFO)
        for handler in handlers:
            if handler not in logger.handlers:
                logger.addHandler(handler)
