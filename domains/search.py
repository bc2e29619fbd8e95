"""Prefix search over the whole store with keyset paging (never OFFSET, never all rows)."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

import idna
from sqlalchemy import and_, or_, select
from sqlmodel import col

from domains.errors import FieldError, ValidationFailed
from domains.models import Account, Contact, Domain, DomainContact

if TYPE_CHECKING:
    from domains.store import SearchPage, Store

SEARCH_KINDS = ("domain", "email", "name", "account")
_HI = "\U0010ffff"
_ACCOUNT_SHAPE = re.compile(r"^[A-Za-z]{1,4}-\d")
MAX_LIMIT = 500


def _prefix(column: Any, prefix: str) -> Any:
    """column starts with prefix, as a range an index can serve."""
    return and_(column >= prefix, column < prefix + _HI)


def _after(key_column: Any, name_column: Any, cursor: list[str] | None) -> Any:
    """Rows strictly after the cursor in (key, name) order."""
    if not cursor:
        return True
    key, name = cursor
    return or_(key_column > key, and_(key_column == key, name_column > name))


def parse_query(query: str, kind: str | None) -> tuple[str, str]:
    """Split 'email:foo' style queries and guess the kind of a bare one."""
    text = (query or "").strip()
    if ":" in text:
        head, _, rest = text.partition(":")
        if head.lower() in SEARCH_KINDS:
            kind, text = kind or head.lower(), rest.strip()
    if kind is None:
        if "@" in text:
            kind = "email"
        elif _ACCOUNT_SHAPE.match(text):
            kind = "account"
        else:
            kind = "domain"
    if kind not in SEARCH_KINDS:
        raise ValidationFailed(
            FieldError("kind", f"{kind!r} is not one of {', '.join(SEARCH_KINDS)}")
        )
    if len(text) > 255:
        raise ValidationFailed(FieldError("query", "is longer than 255 characters"))
    return kind, text


def _domain_key(text: str) -> tuple[Any, str]:
    """Which column and key a domain prefix searches: A-label for ASCII, U-label otherwise."""
    key = text.casefold().rstrip(".")
    if key.isascii():
        return col(Domain.name), key
    try:
        # A full IDN name typed as a U-label is found by its A-label too.
        return col(Domain.unicode_name), idna.decode(idna.encode(key, uts46=True))
    except (idna.IDNAError, UnicodeError):
        return col(Domain.unicode_name), key


def _read_cursor(cursor: str | None) -> list[str] | None:
    """Decode a page cursor, refusing one that was not made by this module."""
    if not cursor:
        return None
    try:
        value = json.loads(cursor)
    except ValueError:
        value = None
    if not (
        isinstance(value, list)
        and len(value) == 3
        and value[0] in SEARCH_KINDS
        and all(isinstance(v, str) for v in value)
    ):
        raise ValidationFailed(FieldError("cursor", "is not a cursor from a previous page"))
    return value


def run_search(
    store: Store, query: str, *, kind: str | None, cursor: str | None, limit: int
) -> SearchPage:
    """Run one page of a search."""
    from domains.store import DomainHit, SearchPage

    after = _read_cursor(cursor)
    if after is not None:
        # The cursor remembers which kind of search made it (a bare word may have fallen
        # back from domains to names), so every later page continues the same search.
        kind = after.pop(0)
    guessed = kind is None
    kind, text = parse_query(query, kind)
    limit = max(1, min(limit, MAX_LIMIT))
    if kind == "domain":
        column, key = _domain_key(text)
        stmt = (
            select(Domain.id, Domain.name, Domain.unicode_name, Account.number, column)
            .join(Account, col(Account.id) == col(Domain.account_id))
            .where(_prefix(column, key))
            .where(_after(column, col(Domain.name), after))
            .order_by(column, Domain.name)
        )
    elif kind == "account":
        key = text.upper()
        stmt = (
            select(Domain.id, Domain.name, Domain.unicode_name, Account.number, Account.number)
            .join(Account, col(Account.id) == col(Domain.account_id))
            .where(_prefix(col(Account.number), key))
            .where(_after(col(Account.number), col(Domain.name), after))
            .order_by(Account.number, Domain.name)
        )
    else:
        key_column = col(Contact.email_key) if kind == "email" else col(Contact.name_key)
        key = text.casefold()
        stmt = (
            select(
                Domain.id,
                Domain.name,
                Domain.unicode_name,
                Account.number,
                key_column,
                DomainContact.role,
            )
            .select_from(Contact)
            .join(DomainContact, col(DomainContact.contact_id) == col(Contact.id))
            .join(Domain, col(Domain.id) == col(DomainContact.domain_id))
            .join(Account, col(Account.id) == col(Domain.account_id))
            .where(_prefix(key_column, key))
            .where(_after(key_column, col(Domain.name), after))
            .order_by(key_column, Domain.name)
        )
    with store.read() as session:
        rows = session.execute(stmt.limit(limit + 1)).all()
    page_rows = rows[:limit]
    hits = [
        DomainHit(
            domain_id=row[0],
            name=row[1],
            unicode_name=row[2],
            account_number=row[3],
            matched=f"{kind}" + (f" ({row[5]})" if len(row) > 5 else ""),
            cursor=json.dumps([kind, row[4], row[1]]),
        )
        for row in page_rows
    ]
    next_cursor = hits[-1].cursor if len(rows) > limit and hits else None
    if guessed and kind == "domain" and not hits and not cursor and text:
        # A bare word that names no domain may be a person's or company's name.
        page = run_search(store, text, kind="name", cursor=None, limit=limit)
        return SearchPage(kind="name", hits=page.hits, next_cursor=page.next_cursor)
    return SearchPage(kind=kind, hits=hits, next_cursor=next_cursor)
