"""The suite's check that every frame our EPP client sends is valid against the IETF schemas:
`EppSession.command` wrapped to validate each frame it builds (publishers/epp/schema.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from publishers.epp.schema import validate_frame
from publishers.epp.session import EppSession
from publishers.epp.xmlsafe import EppParseError

MARKER = "invalid_epp_frames"
"""Tests that send frames the schemas reject on purpose carry this marker."""


def validate_client_frames(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Wrap EppSession.command so that each frame it sends is validated; the list the schema
    errors (with the frame's start) are added to, for the caller to fail the test on."""
    invalid: list[str] = []
    original = EppSession.command

    async def command(
        self: EppSession, build: Callable[[str], bytes], *, cltrid: str | None = None
    ) -> Any:
        def checked(given: str) -> bytes:
            frame = build(given)
            try:
                validate_frame(frame)
            except EppParseError as exc:
                invalid.append(f"{exc} in {frame[:400]!r}")
            return frame

        return await original(self, checked, cltrid=cltrid)

    monkeypatch.setattr(EppSession, "command", command)
    return invalid
