"""Riding out a database that is briefly unreachable: transient errors retried with back-off."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy.exc import DBAPIError
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    Retrying,
    retry_if_exception,
    wait_exponential,
)

from domains.db import is_transient
from domains.errors import InterlinkError
from domains.settings import SyncSettings

log = logging.getLogger(__name__)

T = TypeVar("T")
SETTING = "sync.database_outage_limit"
_MIN_WAIT = 0.01


class DatabaseOutage(InterlinkError):
    """The database stayed unreachable past the outage limit (or a stop came meanwhile)."""


def error_kind(exc: BaseException) -> str:
    """The error's type for the log (the driver's own type too), never its message: a
    message may quote SQL parameters, that is, personal data."""
    inner = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else None
    if inner is None or type(inner) is type(exc):
        return type(exc).__name__
    return f"{type(exc).__name__}/{type(inner).__name__}"


class OutageGuard:
    """Runs database calls, retrying the transient errors (`domains.db.is_transient`) with
    exponential back-off from `wait` to `wait_max` seconds, for as long as the outage lasts
    less than `limit` seconds.

    The outage is one for every call made through the guard: it starts at the first failure
    and ends at the first success, whichever call has it, so a worker whose calls all fail
    gives up `limit` seconds after the database went away, not later. Errors that are not
    transient (a missing table, a constraint) are raised at once, as before. Once the caller
    is stopping, an outage may last `stop_grace` seconds at most.
    """

    def __init__(
        self,
        *,
        wait: float = 0.5,
        wait_max: float = 15.0,
        limit: float = 300.0,
        setting: str = SETTING,
        stop_grace: float = 5.0,
    ) -> None:
        self.wait = max(_MIN_WAIT, wait)
        self.wait_max = max(self.wait, wait_max)
        self.limit = max(0.0, limit)
        self.setting = setting
        self.stop_grace = stop_grace
        self.since: float | None = None
        """When the current outage began (time.monotonic()), None while the database answers."""
        self._backoff = wait_exponential(multiplier=self.wait, max=self.wait_max)

    @classmethod
    def from_settings(cls, settings: SyncSettings) -> OutageGuard:
        """A guard with the `sync` settings' waits and outage limit."""
        return cls(
            wait=settings.database_retry_wait,
            wait_max=settings.database_retry_wait_max,
            limit=settings.database_outage_limit,
        )

    def _elapsed(self) -> float:
        return 0.0 if self.since is None else time.monotonic() - self.since

    def _limit(self, stop: asyncio.Event | None) -> float:
        """How long the outage may last: the limit, or less once the caller is stopping."""
        if stop is not None and stop.is_set():
            return min(self.limit, self.stop_grace)
        return self.limit

    def _next_wait(self, state: RetryCallState, stop: asyncio.Event | None) -> float:
        # Back off, but try once more right at the limit rather than sleep past it.
        left = self._limit(stop) - self._elapsed()
        return max(_MIN_WAIT, min(self._backoff(state), left))

    def _failed(self, exc: BaseException) -> bool:
        if not is_transient(exc):
            return False
        if self.since is None:
            self.since = time.monotonic()
        return True

    def _note(self, state: RetryCallState, what: str) -> None:
        exc = state.outcome.exception() if state.outcome is not None else None
        log.warning(
            "database unavailable (%s: %s); trying again in %.1f s (unavailable for %.1f s so "
            "far; giving up at %g s, %s)",
            what,
            error_kind(exc) if exc is not None else "?",
            state.upcoming_sleep,
            self._elapsed(),
            self.limit,
            self.setting,
        )

    def _recovered(self) -> None:
        if self.since is not None:
            log.warning("the database answers again after %.1f s", self._elapsed())
            self.since = None

    def _outage(self, exc: Exception, stop: asyncio.Event | None = None) -> DatabaseOutage | None:
        """DatabaseOutage when `exc` ended an outage past its limit, else None."""
        if self.since is None or not is_transient(exc):
            return None
        if self._elapsed() >= self.limit:
            return DatabaseOutage(
                f"the database has been unreachable for {self.limit:g} s ({self.setting}); stopping"
            )
        if stop is not None and stop.is_set() and self._elapsed() >= self._limit(stop):
            return DatabaseOutage(
                f"stopped while the database was unreachable ({self._elapsed():.1f} s); work "
                "not yet recorded is taken up again when its lease ends"
            )
        return None

    def _policy(self, what: str, stop: asyncio.Event | None) -> dict[str, Any]:
        return {
            "retry": retry_if_exception(self._failed),
            "wait": lambda state: self._next_wait(state, stop),
            "stop": lambda _state: self._elapsed() >= self._limit(stop),
            "before_sleep": lambda state: self._note(state, what),
            "reraise": True,
        }

    async def run(
        self,
        call: Callable[[], Awaitable[T]],
        *,
        what: str = "database call",
        stop: asyncio.Event | None = None,
    ) -> T:
        """The result of `call()`, retried while its errors are transient and the outage is
        shorter than the limit; DatabaseOutage when it lasts longer. Once `stop` is set the
        outage may last `stop_grace` seconds at most (a blip still lets the last results be
        recorded; a long outage does not hold up a worker asked to stop)."""

        async def sleep(seconds: float) -> None:
            if stop is None or stop.is_set():
                await asyncio.sleep(seconds)
                return
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(seconds):
                    await stop.wait()  # woken early: try again now, under the stop's limit

        async def attempt() -> T:
            return await call()  # tenacity awaits coroutine functions only, not lambdas

        try:
            result: T = await AsyncRetrying(sleep=sleep, **self._policy(what, stop))(attempt)
        except Exception as exc:
            outage = self._outage(exc, stop)
            if outage is None:
                raise
            raise outage from exc
        self._recovered()
        return result

    def call(self, function: Callable[[], T], *, what: str = "database call") -> T:
        """The same as `run`, for blocking code (the worker's start: opening the store)."""
        try:
            result = Retrying(sleep=time.sleep, **self._policy(what, None))(function)
        except Exception as exc:
            outage = self._outage(exc)
            if outage is None:
                raise
            raise outage from exc
        self._recovered()
        return result


__all__ = ["DatabaseOutage", "OutageGuard", "error_kind"]
