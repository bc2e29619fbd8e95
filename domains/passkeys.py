"""Passkeys (WebAuthn, with the `webauthn` package): register one in the panel, sign in with it."""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import webauthn
from sqlalchemy import func, select, update
from sqlmodel import col
from webauthn.helpers import base64url_to_bytes
from webauthn.helpers.exceptions import InvalidAuthenticationResponse, InvalidRegistrationResponse
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from domains.customer_models import Passkey, PasskeyChallenge
from domains.customer_sessions import CustomerSessions, NewSession
from domains.errors import FieldError, NotFound, ValidationFailed
from domains.models import Account
from domains.store import Store
from domains.vocabulary import SessionVia

log = logging.getLogger(__name__)

CHALLENGE_LIFETIME = timedelta(minutes=5)
MAX_PASSKEYS = 10
MAX_LABEL = 100
REGISTER = "register"
SIGNIN = "signin"


class PasskeyRefused(Exception):
    """A passkey answer that does not prove anything: said in the product's words."""


@dataclass(frozen=True)
class PasskeyView:
    """A passkey as the panel lists it."""

    id: int
    label: str
    created_at: datetime
    last_used_at: datetime | None


@dataclass(frozen=True)
class Ceremony:
    """What the browser needs to start a ceremony: the options as WebAuthn's JSON."""

    options_json: str


def _digest(challenge: bytes) -> str:
    return hashlib.sha256(challenge).hexdigest()


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _client_challenge(credential: dict[str, Any]) -> bytes:
    """The challenge the browser signed, read from its clientDataJSON (checked by webauthn)."""
    try:
        client_data = json.loads(base64url_to_bytes(credential["response"]["clientDataJSON"]))
        return base64url_to_bytes(client_data["challenge"])
    except (KeyError, TypeError, ValueError) as exc:
        raise PasskeyRefused("the browser's passkey answer could not be read") from exc


class Passkeys:
    """Passkeys of customers for one relying party (the portal's host name and origin)."""

    def __init__(self, store: Store, *, rp_id: str, rp_name: str, origin: str) -> None:
        self.store = store
        self.rp_id = rp_id
        self.rp_name = rp_name
        self.origin = origin
        self.sessions = CustomerSessions(store)

    # -- challenges ---------------------------------------------------------------------------

    def _new_challenge(self, purpose: str, account_id: int | None, now: datetime) -> bytes:
        challenge = secrets.token_bytes(32)
        with self.store.write() as session:
            session.add(
                PasskeyChallenge(
                    challenge_hash=_digest(challenge),
                    purpose=purpose,
                    account_id=account_id,
                    created_at=now,
                    expires_at=now + CHALLENGE_LIFETIME,
                )
            )
        return challenge

    def _spend_challenge(self, challenge: bytes, purpose: str, now: datetime) -> PasskeyChallenge:
        """The challenge as issued, marked used; refused when unknown, used or old."""
        with self.store.write() as session:
            row = session.execute(
                select(PasskeyChallenge).where(
                    col(PasskeyChallenge.challenge_hash) == _digest(challenge)
                )
            ).scalar()
            if row is None or row.purpose != purpose:
                raise PasskeyRefused("this passkey answer is for no request of ours")
            if row.used_at is not None or _aware(row.expires_at) <= now:
                raise PasskeyRefused("this passkey answer came too late; please try again")
            spent = session.execute(
                update(PasskeyChallenge)
                .where(col(PasskeyChallenge.id) == row.id, col(PasskeyChallenge.used_at).is_(None))
                .values(used_at=now)
            )
            if getattr(spent, "rowcount", 0) != 1:
                raise PasskeyRefused("this passkey answer was used already")
            return row

    # -- registration -------------------------------------------------------------------------

    def registration(self, account_id: int, *, now: datetime | None = None) -> Ceremony:
        """Options for navigator.credentials.create for the account (its passkeys excluded)."""
        now = now or self.store.now()
        with self.store.read() as session:
            account = session.get(Account, account_id)
            if account is None:
                raise NotFound("account", str(account_id))
            known = session.execute(
                select(col(Passkey.credential_id)).where(col(Passkey.account_id) == account_id)
            ).scalars()
            exclude = [PublicKeyCredentialDescriptor(id=c) for c in known]
            number = account.number
        challenge = self._new_challenge(REGISTER, account_id, now)
        options = webauthn.generate_registration_options(
            rp_id=self.rp_id,
            rp_name=self.rp_name,
            # An opaque handle, never personal data: the same for every passkey of the account.
            user_id=hashlib.sha256(f"interlink-account:{account_id}".encode()).digest(),
            user_name=number,
            user_display_name=f"Interlink account {number}",
            challenge=challenge,
            exclude_credentials=exclude,
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement.REQUIRED,
                user_verification=UserVerificationRequirement.PREFERRED,
            ),
        )
        return Ceremony(webauthn.options_to_json(options))

    def register(
        self,
        account_id: int,
        credential: dict[str, Any],
        label: str,
        *,
        now: datetime | None = None,
    ) -> PasskeyView:
        """Keep the passkey the browser made, once its answer is verified."""
        label = " ".join(label.split()) or "Passkey"
        if len(label) > MAX_LABEL:
            raise ValidationFailed(
                [FieldError("label", f"is {len(label)} characters long; at most 100 are allowed")]
            )
        now = now or self.store.now()
        challenge = _client_challenge(credential)
        issued = self._spend_challenge(challenge, REGISTER, now)
        if issued.account_id != account_id:
            raise PasskeyRefused("this passkey answer is for no request of ours")
        try:
            verified = webauthn.verify_registration_response(
                credential=credential,
                expected_challenge=challenge,
                expected_rp_id=self.rp_id,
                expected_origin=self.origin,
            )
        except InvalidRegistrationResponse as exc:
            log.info("passkey registration refused: %s", type(exc).__name__)
            raise PasskeyRefused("the passkey could not be checked; please try again") from None
        with self.store.write() as session:
            count = session.execute(
                select(func.count())
                .select_from(Passkey)
                .where(col(Passkey.account_id) == account_id)
            ).scalar_one()
            if count >= MAX_PASSKEYS:
                raise PasskeyRefused(f"an account has at most {MAX_PASSKEYS} passkeys")
            taken = session.execute(
                select(col(Passkey.id)).where(col(Passkey.credential_id) == verified.credential_id)
            ).scalar()
            if taken is not None:
                raise PasskeyRefused("this passkey is registered already")
            row = Passkey(
                account_id=account_id,
                credential_id=verified.credential_id,
                public_key=verified.credential_public_key,
                sign_count=verified.sign_count,
                label=label,
                created_at=now,
            )
            session.add(row)
            session.flush()
            assert row.id is not None
            log.info("passkey %s registered", row.id)
            return PasskeyView(row.id, row.label, now, None)

    # -- sign-in ------------------------------------------------------------------------------

    def signin(self, *, now: datetime | None = None) -> Ceremony:
        """Options for navigator.credentials.get: any passkey of ours (it says whose it is)."""
        now = now or self.store.now()
        challenge = self._new_challenge(SIGNIN, None, now)
        options = webauthn.generate_authentication_options(
            rp_id=self.rp_id,
            challenge=challenge,
            user_verification=UserVerificationRequirement.PREFERRED,
        )
        return Ceremony(webauthn.options_to_json(options))

    def verify_signin(
        self,
        credential: dict[str, Any],
        *,
        replacing: str | None = None,
        now: datetime | None = None,
    ) -> NewSession:
        """Start a session for the account whose passkey signed the challenge."""
        now = now or self.store.now()
        challenge = _client_challenge(credential)
        self._spend_challenge(challenge, SIGNIN, now)
        try:
            credential_id = base64url_to_bytes(credential["rawId"])
        except (KeyError, TypeError, ValueError):
            raise PasskeyRefused("the browser's passkey answer could not be read") from None
        with self.store.read() as session:
            key = session.execute(
                select(Passkey).where(col(Passkey.credential_id) == credential_id)
            ).scalar()
            number = (
                session.execute(
                    select(col(Account.number)).where(col(Account.id) == key.account_id)
                ).scalar()
                if key
                else None
            )
        if key is None or number is None:
            raise PasskeyRefused("this passkey is not registered with any Interlink account")
        try:
            verified = webauthn.verify_authentication_response(
                credential=credential,
                expected_challenge=challenge,
                expected_rp_id=self.rp_id,
                expected_origin=self.origin,
                credential_public_key=key.public_key,
                credential_current_sign_count=key.sign_count,
            )
        except InvalidAuthenticationResponse as exc:
            log.info("passkey sign-in refused: %s", type(exc).__name__)
            raise PasskeyRefused("the passkey could not be checked; please try again") from None
        with self.store.write() as session:
            session.execute(
                update(Passkey)
                .where(col(Passkey.id) == key.id)
                .values(sign_count=verified.new_sign_count, last_used_at=now)
            )
        return self.sessions.start(number, SessionVia.PASSKEY, replacing=replacing, now=now)

    # -- the panel's list ---------------------------------------------------------------------

    def of_account(self, account_id: int) -> list[PasskeyView]:
        """The account's passkeys, oldest first."""
        with self.store.read() as session:
            rows = session.execute(
                select(Passkey)
                .where(col(Passkey.account_id) == account_id)
                .order_by(col(Passkey.id))
            ).scalars()
            return [
                PasskeyView(
                    r.id or 0,
                    r.label,
                    _aware(r.created_at),
                    _aware(r.last_used_at) if r.last_used_at else None,
                )
                for r in rows
            ]

    def remove(self, account_id: int, passkey_id: int) -> None:
        """Remove one of the account's passkeys; NotFound for any other id."""
        with self.store.write() as session:
            row = session.get(Passkey, passkey_id)
            if row is None or row.account_id != account_id:
                raise NotFound("passkey", str(passkey_id))
            session.delete(row)
