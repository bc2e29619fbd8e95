"""Change-request tokens and references: made at random, stored only as hashes, checked once."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from domains.errors import RuleViolation
from domains.models import ChangeRequest
from domains.vocabulary import RequestState

TOKEN_BYTES = 32  # 256 bits; the design asks for at least 128


class InvalidToken(RuleViolation):
    """A confirmation link that is unknown, used, expired or for a closed request."""

    def __init__(self, message: str, *, gone: bool = False) -> None:
        super().__init__(message)
        #: True when the link was real but can no longer be used (HTTP 410 rather than 400).
        self.gone = gone


def new_token() -> str:
    """A new confirmation token (it exists only in memory and in the registrant's mail)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def check_token(request: ChangeRequest | None, now: datetime) -> ChangeRequest:
    """The request a token opens, or InvalidToken saying why it cannot be confirmed."""
    if request is None:
        raise InvalidToken("this confirmation link is not valid")
    if request.token_used_at is not None:
        raise InvalidToken("this confirmation link has already been used", gone=True)
    if request.state != RequestState.SUBMITTED:
        raise InvalidToken(
            f"this request is {request.state}; it can no longer be confirmed", gone=True
        )
    if request.token_expires_at is None or now >= request.token_expires_at:
        raise InvalidToken(
            "this confirmation link has expired; the request must be made again", gone=True
        )
    return request


def check_token_shape(token: object) -> str:
    """The token if it can be one at all; InvalidToken otherwise (nothing is read)."""
    if not isinstance(token, str) or not 16 <= len(token) <= 128:
        raise InvalidToken("this confirmation link is not valid")
    return token


def hash_token(token: str) -> str:
    """The stored form of a token: SHA-256 hex (the token itself is never stored)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_reference() -> str:
    """A public request reference: unguessable, easy to read out on the phone."""
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    body = "".join(secrets.choice(alphabet) for _ in range(10))
    return f"CR-{body[:5]}-{body[5:]}"
