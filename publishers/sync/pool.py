"""The worker's EPP sessions: one pool per registry, opened on first use, closed at the end."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from publishers.epp.session import SessionPool
from publishers.registries import Registry

log = logging.getLogger(__name__)


class RegistryPools:
    """A `SessionPool` per registry, of `sessions` sessions each (default: the registry's
    configured number). A registry that refuses our login, or cannot be used, is logged once."""

    def __init__(self, sessions: int | None = None) -> None:
        self.sessions = sessions
        self._pools: dict[str, SessionPool] = {}
        self._warned: set[str] = set()

    def size(self, registry: Registry) -> int:
        """How many sessions the pool of registry holds."""
        return self.sessions or registry.sessions

    def get(self, registry: Registry) -> SessionPool:
        """The registry's pool (a new one when it has none or it was closed)."""
        pool = self._pools.get(registry.name)
        if pool is None or pool.closed:
            pool = SessionPool(registry.endpoint(), self.size(registry))
            self._pools[registry.name] = pool
        return pool

    def warn_once(self, registry: Registry, message: str, *args: object) -> None:
        """Log an error about registry, only the first time for it."""
        if registry.name not in self._warned:
            self._warned.add(registry.name)
            log.error(message, registry.name, *args)

    async def close(self) -> None:
        """Log out of every registry (at most 5 s each; errors are ignored)."""
        pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(5):
                    await pool.close()


__all__ = ["RegistryPools"]
