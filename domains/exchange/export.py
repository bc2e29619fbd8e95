"""`export_records`: every account, contact and domain (roles, DS records) in the exchange format.

One read transaction (a consistent snapshot), keyset paging, one record per line. Each record holds
the format's fields in the order of its table's columns, each value as its column's type says:
times in ISO 8601 UTC with `Z`, lists as lists, flags as true/false, the owning account by its
number.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Boolean, Connection, DateTime, Table, func, select
from sqlalchemy.types import JSON, TypeDecorator

from domains import access, validation
from domains.exchange.format import (
    ACCOUNT_KEYS,
    ACCOUNT_TABLE,
    CONTACT_KEYS,
    CONTACT_TABLE,
    DOMAIN_KEYS,
    DOMAIN_TABLE,
    DS_KEYS,
    DS_TABLE,
    FORMAT,
    ROLE_TABLE,
    SECTIONS,
    VERSION,
)
from domains.models import utcnow
from domains.staff import Permission, require
from domains.vocabulary import AccessPurpose

if TYPE_CHECKING:
    from rich.progress import Progress

    from domains.store import Store

PAGE = 5000
#: The label of the owning account's number in the rows read.
_ACCOUNT_NUMBER = "account_number"


def _iso(value: datetime | None) -> str | None:
    """ISO 8601 UTC with Z (SQLite gives naive datetimes, stored in UTC)."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat() + "Z"


def _as_list(value: Any) -> list[Any]:
    return list(value or [])


def _same(value: Any) -> Any:
    return value


def _exported(column: Any) -> Callable[[Any], Any]:
    """How a column's stored value is written in the file, by the column's type."""
    kind = column.type.impl if isinstance(column.type, TypeDecorator) else column.type
    if isinstance(kind, DateTime):
        return _iso
    if isinstance(kind, JSON):
        return _as_list
    if isinstance(kind, Boolean):
        return bool
    return _same


@dataclass(frozen=True)
class _Section:
    """How the rows of a table become the records of a section."""

    name: str
    table: Table
    keys: frozenset[str]
    #: column -> its key in the file, where they differ.
    renamed: Mapping[str, str]
    #: columns not written, though a key of the file has their name (it names another column).
    hidden: frozenset[str] = frozenset()

    def fields(self) -> list[tuple[str, str, Callable[[Any], Any]]]:
        """(key in the file, name in the row, conversion) of each field, in the table's order."""
        out: list[tuple[str, str, Callable[[Any], Any]]] = []
        for column in self.table.c:
            key = self.renamed.get(column.name, column.name)
            if column.name in self.hidden or key not in self.keys:
                continue
            if column.name == "account_id":  # the owning account, by its number
                out.append((key, _ACCOUNT_NUMBER, _same))
            else:
                out.append((key, column.name, _exported(column)))
        return out

    def encoder(self) -> Callable[[Any], dict[str, Any]]:
        """A row read (with the owning account's number) -> its record."""
        fields = self.fields()

        def record(row: Any) -> dict[str, Any]:
            values = row._mapping
            return {key: convert(values[name]) for key, name, convert in fields}

        return record


_ACCOUNTS = _Section("accounts", ACCOUNT_TABLE, ACCOUNT_KEYS, {})
_CONTACTS = _Section(
    "contacts", CONTACT_TABLE, CONTACT_KEYS, {"account_id": "account", "is_house": "house"}
)
_DOMAINS = _Section(
    "domains",
    DOMAIN_TABLE,
    DOMAIN_KEYS,
    {"unicode_name": "name", "account_id": "account"},
    hidden=frozenset({"name"}),  # the A-label; the file names a domain as people write it
)


def _pages(conn: Connection, stmt: Any, id_column: Any) -> Iterator[Sequence[Any]]:
    """Rows of `stmt` in id order, a page at a time (keyset paging, never OFFSET)."""
    last = 0
    while True:
        rows = conn.execute(stmt.where(id_column > last).order_by(id_column).limit(PAGE)).all()
        if not rows:
            return
        yield rows
        last = rows[-1].id


def export_records(
    store: Store, path: Path, *, actor: str, progress: Progress | None = None
) -> dict[str, int]:
    """Write every account, contact and domain (with roles and DS records) to `path`; returns
    the counts.

    Staff need the privacy role (EXPORT); the export is recorded first as one access event for
    every contact at once, so no export leaves the store unrecorded.
    """
    path = Path(path)
    with store.write() as session:
        require(session, actor, Permission.EXPORT)
        access.record(session, actor, AccessPurpose.EXPORT, [None])
    acc, con, dom, dc, ds = (
        ACCOUNT_TABLE.c,
        CONTACT_TABLE.c,
        DOMAIN_TABLE.c,
        ROLE_TABLE.c,
        DS_TABLE.c,
    )
    counts = dict.fromkeys(SECTIONS, 0)
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": ")).encode
    tmp = path.with_name(path.name + ".tmp")
    options = {} if store.is_sqlite else {"isolation_level": "REPEATABLE READ"}
    with store.engine.connect().execution_options(**options) as conn, conn.begin():
        # One read transaction: a consistent snapshot of the whole store.
        totals = {
            section.name: conn.execute(select(func.count()).select_from(section.table)).scalar_one()
            for section in (_ACCOUNTS, _CONTACTS, _DOMAINS)
        }
        task = None
        if progress is not None:
            task = progress.add_task(f"exporting to {path.name}", total=sum(totals.values()) or 1)
        with tmp.open("w", encoding="utf-8") as out:
            out.write(f'{{"format": "{FORMAT}", "version": {VERSION}, ')
            out.write(f'"exported_at": "{_iso(utcnow().replace(microsecond=0))}"')

            def section(
                name: str,
                pages: Iterator[Sequence[Any]],
                encode: Callable[[Sequence[Any]], Iterator[dict[str, Any]]],
            ) -> None:
                out.write(f',\n"{name}": [')
                first = True
                for rows in pages:
                    for record in encode(rows):
                        out.write("\n" if first else ",\n")
                        out.write(dumps(record))
                        first = False
                    counts[name] += len(rows)
                    if progress is not None and task is not None:
                        progress.advance(task, len(rows))
                out.write("]" if first else "\n]")

            account_record = _ACCOUNTS.encoder()
            section(
                "accounts",
                _pages(conn, select(ACCOUNT_TABLE), acc.id),
                lambda rows: (account_record(r) for r in rows),
            )
            contact_record = _CONTACTS.encoder()
            section(
                "contacts",
                _pages(
                    conn,
                    select(CONTACT_TABLE, acc.number.label(_ACCOUNT_NUMBER)).outerjoin(
                        ACCOUNT_TABLE, acc.id == con.account_id
                    ),
                    con.id,
                ),
                lambda rows: (contact_record(r) for r in rows),
            )
            domain_record = _DOMAINS.encoder()

            def domain_records(rows: Sequence[Any]) -> Iterator[dict[str, Any]]:
                roles: dict[int, dict[str, str]] = {}
                for domain_id, role, handle in conn.execute(
                    select(dc.domain_id, dc.role, con.handle)
                    .join(CONTACT_TABLE, con.id == dc.contact_id)
                    .where(dc.domain_id.between(rows[0].id, rows[-1].id))
                ):
                    roles.setdefault(domain_id, {})[role] = handle
                signed: dict[int, list[dict[str, Any]]] = {}
                for domain_id, *parts in conn.execute(
                    select(ds.domain_id, *(ds[key] for key in DS_KEYS))
                    .where(ds.domain_id.between(rows[0].id, rows[-1].id))
                    .order_by(ds.domain_id, *(ds[key] for key in DS_KEYS))
                ):
                    signed.setdefault(domain_id, []).append(dict(zip(DS_KEYS, parts, strict=True)))
                for row in rows:
                    record = domain_record(row)
                    given = roles.get(row.id, {})
                    record["contacts"] = {r: given[r] for r in validation.ROLES if r in given}
                    record["ds"] = signed.get(row.id, [])
                    yield record

            section(
                "domains",
                _pages(
                    conn,
                    select(DOMAIN_TABLE, acc.number.label(_ACCOUNT_NUMBER)).join(
                        ACCOUNT_TABLE, acc.id == dom.account_id
                    ),
                    dom.id,
                ),
                domain_records,
            )
            out.write("}\n")
        if progress is not None and task is not None:
            progress.remove_task(task)
    tmp.replace(path)
    return counts
