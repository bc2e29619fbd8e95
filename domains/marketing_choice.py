"""Staff record a customer's choice about marketing mail given by phone, letter or e-mail."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlmodel import col

from domains import audit
from domains.errors import NotFound, RuleViolation
from domains.models import Account, utcnow
from domains.staff import Permission, login_of, require
from domains.vocabulary import OptOutVia

if TYPE_CHECKING:
    from domains.store import Store

#: The ways a choice reaches staff; the others are the customer's own (panel, unsubscribe).
STAFF_CHANNELS = (OptOutVia.PHONE, OptOutVia.LETTER, OptOutVia.EMAIL)
#: The audit action of an opt-in recorded by staff: how it was given (the columns are cleared).
OPT_IN_ACTION = "account.marketing_opt_in"


@dataclass(frozen=True)
class MarketingChoice:
    """An account's choice after it was recorded; `changed` is False when it already stood."""

    number: str
    opted_out: bool
    at: datetime | None
    via: str | None
    by: str | None
    changed: bool


def staff_channel(value: str) -> OptOutVia:
    """The channel a member of staff names (phone, letter, email); a clear error otherwise."""
    text = value.strip().lower() if isinstance(value, str) else ""
    for channel in STAFF_CHANNELS:
        if text == channel.value:
            return channel
    known = ", ".join(STAFF_CHANNELS)
    raise RuleViolation(f"{value!r} is not how a customer tells staff; give one of: {known}")


def record_choice(
    store: Store, actor: str, number: str, *, opt_out: bool, via: OptOutVia | str
) -> MarketingChoice:
    """Record that the customer holding account `number` opted out of marketing mail (when, how,
    by whom) or back in (all three cleared), as told to the member of staff `actor`.

    Needs RECORD_MARKETING_CHOICE; saved through `Store.update_account`, so the change is in the
    audit trail; an opt-in also records how it was given (OPT_IN_ACTION). A choice that already
    stands changes nothing.
    """
    if login_of(actor) is None:
        raise RuleViolation("a marketing choice is recorded here by staff; customers use the panel")
    channel = staff_channel(via)
    key = number.strip().upper()
    with store.read() as session:
        require(session, actor, Permission.RECORD_MARKETING_CHOICE)
        account = session.execute(select(Account).where(col(Account.number) == key)).scalar()
        if account is None:
            raise NotFound("account", number.strip())
    if opt_out == (account.marketing_opt_out_at is not None):
        return _choice(account, changed=False)
    changes: dict[str, Any] = (
        {
            "marketing_opt_out_at": utcnow(),
            "marketing_opt_out_via": channel.value,
            "marketing_opt_out_by": actor,
        }
        if opt_out
        else {
            "marketing_opt_out_at": None,
            "marketing_opt_out_via": None,
            "marketing_opt_out_by": None,
        }
    )
    # The customer's word is absolute, whatever else changed on the account meanwhile.
    updated = store.update_account(actor, key, None, changes)
    if not opt_out:
        with store.write() as session:
            audit.record(
                session,
                actor=actor,
                action=OPT_IN_ACTION,
                entity_type="account",
                entity_id=key,
                changes={"marketing_opt_in_via": {"before": None, "after": channel.value}},
            )
    return _choice(updated, changed=True)


def _choice(account: Account, *, changed: bool) -> MarketingChoice:
    return MarketingChoice(
        number=account.number,
        opted_out=account.marketing_opt_out_at is not None,
        at=account.marketing_opt_out_at,
        via=account.marketing_opt_out_via,
        by=account.marketing_opt_out_by,
        changed=changed,
    )
