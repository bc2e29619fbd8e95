"""Prefix search over the whole store with keyset paging (never OFFSET, never all rows).

An e-mail query that starts with @ (`@example.com`, `email:@example`) searches the domain part
of the contacts' addresses, through the index on that expression (models.email_domain).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import idna
from sqlalchemy import and_, or_, select, tuple_
from sqlmodel import col

from domains.errors import FieldError, ValidationFailed
from domains.models import Account, Contact, Domain, DomainContact, email_domain

if TYPE_CHECKING:
    from sqlmodel import Session

    from domains.store import SearchPage
    from domains.store_sessions import StoreSessions

SEARCH_KINDS = ("domain", "email", "name", "account")
#: An e-mail search by the part after the @: a kind of its own in page cursors and results.
EMAIL_DOMAIN = "email domain"
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


def _ids(values: list[str]) -> bool:
    return all(v.isascii() and v.isdigit() for v in values)


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
        and all(isinstance(v, str) for v in value)
        and (
            (len(value) == 3 and value[0] in SEARCH_KINDS)
            # e-mail domain: kind, domain part, address, contact id, domain id, role
            or (len(value) == 6 and value[0] == EMAIL_DOMAIN and _ids(value[3:5]))
        )
    ):
        raise ValidationFailed(FieldError("cursor", "is not a cursor from a previous page"))
    return value


def _contact_roles(*columns: Any) -> Any:
    """The domain of each role a contact holds (id, name, U-label, account number), then
    `columns`: contacts joined to their roles, domains and accounts."""
    return (
        select(
            col(Domain.id),
            col(Domain.name),
            col(Domain.unicode_name),
            col(Account.number),
            *columns,
        )
        .select_from(Contact)
        .join(DomainContact, col(DomainContact.contact_id) == col(Contact.id))
        .join(Domain, col(Domain.id) == col(DomainContact.domain_id))
        .join(Account, col(Account.id) == col(Domain.account_id))
    )


def _email_domain_rows(session: Session, text: str, after: list[str] | None, count: int) -> list:
    """Up to `count` (contact, role on a domain) rows whose address's domain part starts with
    `text`, after the cursor `after`.

    The order is (domain part, address, contact id, domain id, role). The index on the first
    three gives the contacts in order and each contact's few roles are sorted as they come, so
    a page never waits for every match of a big mail domain to be sorted. A later page reads
    the rest of the cursor's mail domain, then the mail domains after it: two ranges of the
    index that the databases seek to (one range from the cursor's row on is not always used).
    """
    part = email_domain(col(Contact.email_key))
    address = (col(Contact.email_key), col(Contact.id))
    roles = (col(DomainContact.domain_id), col(DomainContact.role))
    stmt = _contact_roles(
        DomainContact.role, part, Contact.email_key, Contact.id, DomainContact.domain_id
    )
    key = text.casefold()
    if not after:
        first = stmt.where(_prefix(part, key)).order_by(part, *address, *roles)
        return list(session.execute(first.limit(count)).all())
    at_key, email, contact_id, domain_id, role = after
    if not at_key.startswith(key):
        raise ValidationFailed(FieldError("cursor", "is not a cursor of this search"))
    at = (email, int(contact_id))
    same_domain = (
        stmt.where(part == at_key, tuple_(*address) >= at)
        .where(or_(tuple_(*address) > at, tuple_(*roles) > (int(domain_id), role)))
        .order_by(*address, *roles)
    )
    rows = list(session.execute(same_domain.limit(count)).all())
    if len(rows) < count:
        later = stmt.where(part > at_key, part < key + _HI).order_by(part, *address, *roles)
        rows += session.execute(later.limit(count - len(rows))).all()
    return rows


def run_search(
    store: StoreSessions, query: str, *, kind: str | None, cursor: str | None, limit: int
) -> SearchPage:
    """Run one page of a search."""

    after = _read_cursor(cursor)
    if after is not None:
        # The cursor remembers which kind of search made it (a bare word may have fallen
        # back from domains to names), so every later page continues the same search.
        kind = after.pop(0)
    guessed = kind is None
    by_mail_domain = kind == EMAIL_DOMAIN
    kind, text = parse_query(query, None if by_mail_domain else kind)
    limit = max(1, min(limit, MAX_LIMIT))
    if by_mail_domain or (kind == "email" and text.startswith("@")):
        return _run_email_domain(store, text.removeprefix("@"), after, limit)
    if kind == "domain":
        column, key = _domain_key(text)
        stmt = (
            select(
                col(Domain.id),
                col(Domain.name),
                col(Domain.unicode_name),
                col(Account.number),
                column,
            )
            .join(Account, col(Account.id) == col(Domain.account_id))
            .where(_prefix(column, key))
            .where(_after(column, col(Domain.name), after))
            .order_by(column, Domain.name)
        )
    elif kind == "account":
        key = text.upper()
        stmt = (
            select(
                col(Domain.id),
                col(Domain.name),
                col(Domain.unicode_name),
                col(Account.number),
                col(Account.number),
            )
            .join(Account, col(Account.id) == col(Domain.account_id))
            .where(_prefix(col(Account.number), key))
            .where(_after(col(Account.number), col(Domain.name), after))
            .order_by(Account.number, Domain.name)
        )
    else:
        key_column = col(Contact.email_key) if kind == "email" else col(Contact.name_key)
        key = text.casefold()
        stmt = (
            _contact_roles(key_column, DomainContact.role)
            .where(_prefix(key_column, key))
            .where(_after(key_column, col(Domain.name), after))
            .order_by(key_column, Domain.name)
        )
    with store.read() as session:
        rows = session.execute(stmt.limit(limit + 1)).all()
    page = _page(
        kind,
        rows,
        limit,
        lambda row: (kind + (f" ({row[5]})" if len(row) > 5 else ""), [kind, row[4], row[1]]),
    )
    if guessed and kind == "domain" and not page.hits and not cursor and text:
        # A bare word that names no domain may be a person's or company's name.
        return run_search(store, text, kind="name", cursor=None, limit=limit)
    return page


def _run_email_domain(
    store: StoreSessions, text: str, after: list[str] | None, limit: int
) -> SearchPage:
    """One page of an e-mail-domain search."""
    with store.read() as session:
        rows = _email_domain_rows(session, text, after, limit + 1)
    return _page(
        EMAIL_DOMAIN,
        rows,
        limit,
        lambda row: (
            f"{EMAIL_DOMAIN} ({row[4]})",
            [EMAIL_DOMAIN, row[5], row[6], str(row[7]), str(row[8]), row[4]],
        ),
    )


def _page(
    kind: str, rows: Sequence[Any], limit: int, describe: Callable[[Any], tuple[str, list[str]]]
) -> SearchPage:
    """A page from up to limit + 1 rows of (domain id, name, U-label, account number, ...);
    `describe` gives a row's "matched" text and the cursor of the page after it."""
    from domains.store import DomainHit, SearchPage

    hits = []
    for row in rows[:limit]:
        matched, after = describe(row)
        hits.append(
            DomainHit(
                domain_id=row[0],
                name=row[1],
                unicode_name=row[2],
                account_number=row[3],
                matched=matched,
                cursor=json.dumps(after),
            )
        )
    next_cursor = hits[-1].cursor if len(rows) > limit and hits else None
    return SearchPage(kind=kind, hits=hits, next_cursor=next_cursor)
