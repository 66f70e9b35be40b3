"""Who may call what: one credential per scope (reload, feedback, predict), each with a previous
value accepted during a rotation. A caller that is not authenticated gets 401; one that holds
another scope's credential gets 403 (it is known, just not allowed here); a client that keeps
sending wrong credentials is locked out for a while (429 with Retry-After), so they cannot be
guessed at line rate. Every configured credential is compared, always, in constant time.

A credential has a name: the feedback scope may hold several (`FEEDBACK_TOKEN="labelling:<t1>,
crm:<t2>"`), one per source of outcomes, and the evaluation layer records which source sent each
outcome (a decision needs several of them). A single value without a name is named after its scope.
"""

from __future__ import annotations

import hmac
import math
import time
from collections import deque
from typing import Literal, NamedTuple

from fastapi import HTTPException

from mlops_base.credentials import named_tokens
from mlops_base.settings import Settings

Scope = Literal["reload", "feedback", "predict"]


class Credential(NamedTuple):
    scope: Scope
    name: str
    token: bytes


def configured(settings: Settings) -> list[Credential]:
    """Every credential the settings hold, current and previous ones."""
    values: dict[Scope, tuple[str, str]] = {
        "reload": (settings.reload_secret_token, settings.reload_secret_token_previous),
        "feedback": (settings.feedback_token, settings.feedback_token_previous),
        "predict": (settings.predict_token, settings.predict_token_previous),
    }
    return [
        Credential(scope, name, token.encode())
        for scope, pair in values.items()
        for value in pair
        for name, token in named_tokens(value, scope)
    ]


class Credentials:
    """Failed attempts per client address in a sliding window, shared by every scope; runs on the
    event loop only."""

    def __init__(self, settings: Settings, clock=time.monotonic):
        self._credentials = configured(settings)
        self.scopes: frozenset[Scope] = frozenset(c.scope for c in self._credentials)
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

    def match(self, client: str, supplied: str) -> Credential | None:
        """The credential `supplied` is, or None (counted against `client`)."""
        candidate = supplied.encode()
        found = None
        for credential in self._credentials:  # every one, always: the time says nothing about which matched
            if hmac.compare_digest(candidate, credential.token) and found is None:
                found = credential
        if found is not None:
            return found
        self._failures.setdefault(client, deque()).append(self._clock())
        if len(self._failures) > 10_000:  # bounded memory under a spray of addresses: forget the oldest
            self._failures.pop(next(iter(self._failures)))
        return None

    def check(self, scope: Scope, client: str, authorization: str | None, x_token: str | None) -> str:
        """The name of the `scope` credential the request carries; HTTPException 401/403/429 otherwise.
        The supplied value is never logged or echoed."""
        wait_s = self.retry_after(client)
        if wait_s is not None:
            raise HTTPException(
                429, f"too many wrong credentials from {client}; retry in {wait_s} s", {"Retry-After": str(wait_s)}
            )
        supplied = None
        if authorization and authorization[:7].lower() == "bearer ":
            supplied = authorization[7:].strip()
        supplied = supplied or x_token
        challenge = {"WWW-Authenticate": "Bearer"}
        if scope not in self.scopes:
            raise HTTPException(
                401, f"no {scope} credential is configured on this server ({_setting(scope)})", challenge
            )
        if not supplied:
            raise HTTPException(401, f"{scope} needs a credential: Authorization: Bearer <token>", challenge)
        credential = self.match(client, supplied)
        if credential is None:
            raise HTTPException(401, f"invalid {scope} credential", challenge)
        if credential.scope != scope:
            raise HTTPException(403, f"a {credential.scope} credential does not allow {scope}")
        return credential.name


def _setting(scope: Scope) -> str:
    return "RELOAD_SECRET_TOKEN" if scope == "reload" else f"{scope.upper()}_TOKEN"
