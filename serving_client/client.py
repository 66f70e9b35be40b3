"""HTTP client of one model-server replica's reload and status routes."""

from __future__ import annotations

from typing import Any

import httpx

from mlops_base import tracing


class ServingError(RuntimeError):
    """The model server refused or failed a request; `status` is the HTTP status (0 if unreachable)."""

    def __init__(self, message: str, status: int = 0):
        super().__init__(message)
        self.status = status


class ServingClient:
    def __init__(self, base_url: str, token: str, timeout_s: float = 30.0):
        self.base_url = base_url.rstrip("/")
        self._token = token
        self._timeout = timeout_s

    def _request(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = httpx.request(method, self.base_url + path, timeout=self._timeout, **kwargs)
        except httpx.HTTPError as exc:
            raise ServingError(f"{method} {self.base_url}{path} failed: {exc}") from exc
        if response.status_code >= 400:
            try:
                detail = response.json().get("detail", response.text)
            except ValueError:
                detail = response.text
            raise ServingError(f"{method} {path} -> {response.status_code}: {detail}", response.status_code)
        return response.json()

    def reload(self, alias: str, version: str | None = None) -> dict[str, Any]:
        """Hot-swap `alias`; with `version`, the server refuses (409) if the registry disagrees."""
        body = {"version": str(version)} if version is not None else {}
        headers = tracing.inject({"Authorization": f"Bearer {self._token}"})  # the release's trace, when on
        return self._request("POST", f"/variant/{alias}/reload", json=body, headers=headers)

    def models(self) -> dict[str, Any]:
        return self._request("GET", "/models")

    def served_version(self, alias: str) -> str | None:
        entry = self.models().get("models", {}).get(alias) or {}
        version = entry.get("version")
        return None if version is None else str(version)
