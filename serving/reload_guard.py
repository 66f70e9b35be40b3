"""Who may reload: the current token or, during a rotation, the previous one; a client that keeps
sending wrong tokens is locked out for a while (429 with Retry-After), so tokens cannot be guessed
at line rate. Both tokens are always compared, in constant time."""

from __future__ import annotations

import hmac
import math
import time
from collections import deque

from mlops_base.settings import Settings


class ReloadGuard:
    """Failed attempts per client address, in a sliding window; runs on the event loop only."""

    def __init__(self, settings: Settings, clock=time.monotonic):
        self._tokens = [t.encode() for t in (settings.reload_secret_token, settings.reload_secret_token_previous) if t]
        self._max_failures = settings.reload_max_failures
        self._window_s = settings.reload_lockout_s
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}

    def retry_after(self, client: str) -> int | None:
        """Seconds until `client` may try again, or None if it may now."""
        failures = self._failures.get(client)
        if not failures:
            return None
        now = self._clock()
        while failures and failures[0] <= now - self._window_s:
            failures.popleft()
        if len(failures) < self._max_failures:
            if not failures:
                del self._failures[client]
            return None
        return max(1, math.ceil(failures[0] + self._window_s - now))

    def accepts(self, client: str, supplied: str) -> bool:
        """Whether `supplied` is a valid token; a wrong one counts against `client`."""
        candidate = supplied.encode()
        matches = [hmac.compare_digest(candidate, token) for token in self._tokens]  # every token, always
        if any(matches):
            return True
        self._failures.setdefault(client, deque()).append(self._clock())
        if len(self._failures) > 10_000:  # bounded memory under a spray of addresses: forget the oldest
            self._failures.pop(next(iter(self._failures)))
        return False
