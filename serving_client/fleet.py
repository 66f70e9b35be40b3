"""Every replica of the model server, for a release: found from a list or a headless Service's DNS
records, reloaded together, each one verified.

A release is served only when every replica serves it; one that refuses the version or cannot be
reached is named in the outcome, never averaged away.
"""

from __future__ import annotations

import contextvars
import socket
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from mlops_base.settings_concerns import url_list
from serving_client.client import ServingClient, ServingError


def replica_urls(serving_url: str = "", replica_urls: str = "", replicas_dns: str = "") -> list[str]:
    """The replicas a release reaches: the listed URLs, else one per address of the DNS name
    (`host:port` of a headless Service: one A record per ready pod), else SERVING_URL alone."""
    if replica_urls.strip():
        return url_list(replica_urls)
    if replicas_dns:
        host, _, port = replicas_dns.rpartition(":")
        try:
            infos = socket.getaddrinfo(host, int(port), type=socket.SOCK_STREAM)
        except OSError as exc:
            raise ServingError(f"no replica found: DNS lookup of {replicas_dns} failed ({exc})") from exc
        addresses = sorted({info[4][0] for info in infos})
        return [f"http://[{a}]:{port}" if ":" in a else f"http://{a}:{port}" for a in addresses]
    return [serving_url.rstrip("/")] if serving_url else []


@dataclass(frozen=True)
class ReplicaOutcome:
    url: str
    served: str | None  # the version it serves after the reload (None: unknown)
    error: str | None = None  # why it does not serve the version asked for


@dataclass(frozen=True)
class FleetResult:
    alias: str
    version: str
    outcomes: list[ReplicaOutcome]

    @property
    def ok(self) -> bool:
        return bool(self.outcomes) and all(o.error is None for o in self.outcomes)

    def detail(self) -> str:
        total = len(self.outcomes)
        if self.ok:
            return f"all {total} replica(s) serve {self.alias}=v{self.version}"
        failed = [o for o in self.outcomes if o.error is not None]
        named = "; ".join(f"{o.url}: {o.error}" for o in failed)
        return f"{len(failed)} of {total} replica(s) do not serve {self.alias}=v{self.version}: {named}"

    def as_dict(self) -> dict[str, dict[str, str | None]]:
        return {o.url: {"served": o.served, "error": o.error} for o in self.outcomes}


class Fleet:
    """The replicas of one release, reached in parallel."""

    def __init__(self, urls: list[str], token: str, timeout_s: float = 60.0):
        if not urls:
            raise ServingError("no model-server replica to release to")
        self._clients = [ServingClient(url, token, timeout_s) for url in urls]

    def _each(self, call) -> list:
        """`call` per replica in parallel, each in a copy of the caller's context (its trace)."""
        contexts = [contextvars.copy_context() for _ in self._clients]  # copied here, in the caller's thread
        with ThreadPoolExecutor(max_workers=min(len(self._clients), 16)) as pool:
            return list(pool.map(lambda context, client: context.run(call, client), contexts, self._clients))

    def hot_swap(self, alias: str, version: str) -> FleetResult:
        """Reload `alias` on every replica (each refuses with 409 if the registry disagrees), then
        check through each one's /models that it serves `version`."""
        return FleetResult(alias, str(version), self._each(lambda client: _swap_one(client, alias, str(version))))

    def reload(self, alias: str) -> list[ReplicaOutcome]:
        """Ask every replica to reload `alias` as the registry has it (its outcome, not verified)."""

        def one(client: ServingClient) -> ReplicaOutcome:
            try:
                return ReplicaOutcome(client.base_url, client.reload(alias).get("version"))
            except ServingError as exc:
                return ReplicaOutcome(client.base_url, None, _why(exc))

        return self._each(one)


def _why(exc: ServingError) -> str:
    return f"unreachable ({exc})" if exc.status == 0 else str(exc)


def _swap_one(client: ServingClient, alias: str, version: str) -> ReplicaOutcome:
    try:
        client.reload(alias, version)
        served = client.served_version(alias)
    except ServingError as exc:
        try:
            served = client.served_version(alias)
        except ServingError:
            served = None
        return ReplicaOutcome(client.base_url, served, _why(exc))
    if served != version:
        return ReplicaOutcome(client.base_url, served, f"serves v{served} after the reload, not v{version}")
    return ReplicaOutcome(client.base_url, served)
