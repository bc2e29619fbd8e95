"""How one attempt at an entry ends when it does not simply succeed, and which EPP result codes
mean what (architecture §6: done, already done, local-only, permanent failure, retry)."""

from __future__ import annotations

import traceback
from pathlib import Path

from publishers.epp.model import Response

DONE_CODES = frozenset({1000, 1001})
RETRY_CODES = frozenset({2400, 2500, 2501, 2502})
POLICY_CODE = 2306
EXISTS_CODE = 2302
MISSING_CODE = 2303


class _Stop(Exception):
    """How one attempt at an entry ends when it does not simply succeed."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Retry(_Stop):
    """Try again later (2400, 2500-2502, transport trouble, a read-back that does not match)."""


class Permanent(_Stop):
    """The registry refused for good (other 2xxx); staff must look at it."""


class LocalOnly(_Stop):
    """The registry does not take this (2306, or its configured policy): kept locally."""


def classify(response: Response, what: str) -> None:
    """Raise the outcome of an answer that is not a success."""
    code = response.code
    if code in DONE_CODES:
        return
    text = f"{what}: {code} {response.message}"
    reasons = [r for result in response.results for r in result.reasons]
    if reasons:
        text += f" ({'; '.join(reasons)})"
    if code == POLICY_CODE:
        raise LocalOnly(text, code)
    if code in RETRY_CODES:
        raise Retry(text, code)
    if 1000 <= code < 2000:
        return  # another success (1300, 1500...): nothing to do
    raise Permanent(text, code)


def where(exc: BaseException) -> str:
    """An exception for the log: its type and where it was raised, never its message (which
    may quote data: SQL parameters, field values)."""
    frames = traceback.extract_tb(exc.__traceback__)
    place = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
    return f"{type(exc).__name__}{place}"


__all__ = [
    "DONE_CODES",
    "EXISTS_CODE",
    "MISSING_CODE",
    "POLICY_CODE",
    "RETRY_CODES",
    "LocalOnly",
    "Permanent",
    "Retry",
    "classify",
    "where",
]
