"""A routing change is a commit, not a restart: each replica reads its env's `platform.env` again
when the file changes and applies the routing settings it names (mode, default alias, shares,
the ramp's steps) between two requests, dropping none. In the cluster the same file is a
ConfigMap whose checksum rolls the Deployment; locally `./mlops up`'s servers follow the file.

Only the routing settings are applied this way; a change to any other setting is logged as
needing a restart. A file that no longer reads (a typo) changes nothing: the routing stays, with a
warning naming the problem.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from mlops_base.settings import Settings, SettingsError, load_settings

log = logging.getLogger("serving.routing_watch")

ROUTING_FIELDS = ("alias_selection_mode", "default_alias", "ab_test_percent", "canary_percent", "ramp_steps")
INTERVAL_S = 1.0  # a stat of one file a second


def _mtime(settings: Settings) -> float | None:
    try:
        return settings.env_file.stat().st_mtime_ns
    except OSError:
        return None


class RoutingWatch:
    def __init__(
        self, settings: Settings, apply: Callable[[Settings], None], reread: Callable[[], Settings] | None = None
    ):
        self.settings = settings
        self._apply = apply
        self._reread = reread or (
            lambda: load_settings(
                settings.mlops_env, mlops_envs_dir=settings.mlops_envs_dir, mlops_env_dir=settings.mlops_env_dir
            )
        )
        self._seen = _mtime(settings)

    def check(self) -> list[str]:
        """Read the file again if it changed; apply its routing; the routing settings that changed."""
        now = _mtime(self.settings)
        if now == self._seen:
            return []
        self._seen = now
        try:
            new = self._reread()
        except SettingsError as exc:
            log.warning("%s changed but does not read; the routing stays as it was: %s", self.settings.env_file, exc)
            return []
        changed = [name for name in ROUTING_FIELDS if getattr(new, name) != getattr(self.settings, name)]
        others = [
            name.upper()
            for name in type(new).model_fields
            if name not in ROUTING_FIELDS and getattr(new, name) != getattr(self.settings, name)
        ]
        if others:
            log.warning("%s changed %s: applied at the next restart", self.settings.env_file, ", ".join(sorted(others)))
        if changed:
            self.settings = self.settings.model_copy(update={name: getattr(new, name) for name in changed})
            self._apply(self.settings)
            described = ", ".join(f"{name.upper()}={getattr(new, name)}" for name in changed)
            log.info("routing now follows %s: %s", self.settings.env_file, described)
        return changed
