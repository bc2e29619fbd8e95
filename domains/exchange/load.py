"""Writing checked records: one transaction, ids given up front, executemany in large batches.

Ids are assigned up front (so roles need no round trip; DS records, which nothing refers to, take
theirs from their table's sequence), rows are inserted with `executemany` in
`write_batch` rows at a time, and ONE audit event `store.import` names the file and the counts.
On SQLite, a table that the import fills from (nearly) empty has its secondary indexes dropped and
rebuilt at the end, in the same transaction (see `defer_indexes`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Table, func, select

from domains import audit
from domains.exchange.checking import Checked
from domains.exchange.codec import codec_for
from domains.exchange.format import (
    ACCOUNT_TABLE,
    COLUMNS,
    CONTACT_TABLE,
    DOMAIN_TABLE,
    DS_TABLE,
    ROLE_TABLE,
    ImportFileError,
)
from domains.exchange.options import ImportOptions
from domains.exchange.records import AccountRecord, ContactRecord, DomainRecord
from domains.exchange.report import ImportReport
from domains.exchange.resolve import Links
from domains.store import contact_handle
from domains.store_sessions import IS_HOUSE

if TYPE_CHECKING:
    from rich.progress import Progress

    from domains.store import Store

#: Contacts whose handle is ILC<n> get id n when n is free, so that handles stay derived from ids.
_OWN_HANDLE = re.compile(r"^ILC([1-9][0-9]{0,9})$")
_MAX_CLAIMED_ID = 2**31 - 1  # an INTEGER id on PostgreSQL


def _insert_sql(conn: Connection, table: Table) -> str:
    """INSERT with positional parameters in the order of COLUMNS (SQLite's qmark style)."""
    quote = conn.dialect.identifier_preparer.quote
    columns = COLUMNS[table.name]
    names = ", ".join(quote(name) for name in columns)
    marks = ", ".join("?" for _ in columns)
    return f"INSERT INTO {quote(table.name)} ({names}) VALUES ({marks})"


class _Writer:
    """executemany in large batches: the driver directly on SQLite (values already in stored
    form), SQLAlchemy Core insert() elsewhere (it batches into multi-row VALUES)."""

    def __init__(self, conn: Connection, advance: Callable[[int], None], batch: int) -> None:
        self.conn = conn
        self.advance = advance
        self.batch = batch
        self.sqlite = conn.dialect.name == "sqlite"

    def write(self, table: Table, rows: Iterable[tuple[Any, ...]]) -> int:
        names = COLUMNS[table.name]
        sql = _insert_sql(self.conn, table) if self.sqlite else ""
        insert = table.insert()
        count = 0
        batch: list[tuple[Any, ...]] = []

        def flush() -> None:
            if self.sqlite:
                self.conn.exec_driver_sql(sql, batch)
            else:
                self.conn.execute(insert, [dict(zip(names, row, strict=True)) for row in batch])
            self.advance(len(batch))

        for row in rows:
            batch.append(row)
            if len(batch) >= self.batch:
                flush()
                count += len(batch)
                batch = []
        if batch:
            flush()
            count += len(batch)
        return count


def defer_indexes(conn: Connection, adding: Mapping[str, int], min_rows: int) -> list[str]:
    """Drop the secondary indexes of the tables this import fills; returns their DDL to rebuild.

    Only tables that grow by `min_rows` or more, and by more than they hold. Building an index
    from the finished table (one sort) is several times faster than updating it row by row in
    random key order. Only on SQLite: the DROP and the CREATE are part of the import's transaction
    (readers keep seeing the old snapshot, with its indexes, until the commit; a failure rolls both
    back), and a UNIQUE index that cannot be rebuilt fails the whole import. Not on PostgreSQL,
    where DROP INDEX would lock readers out for the whole import. Indexes that back constraints
    (primary keys, UNIQUE constraints) are never dropped.
    """
    if conn.dialect.name != "sqlite":
        return []
    saved: list[str] = []
    for table, count in adding.items():
        if count < min_rows:
            continue
        held = conn.exec_driver_sql(f'SELECT COUNT(*) FROM "{table}"').scalar_one()
        if count <= held:
            continue
        rows = conn.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master "
            "WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL",
            (table,),
        ).all()
        for name, sql in rows:
            conn.exec_driver_sql(f'DROP INDEX "{name}"')
            saved.append(sql)
    return saved


def _max_id(conn: Connection, table: Table) -> int:
    return conn.execute(select(func.max(table.c.id))).scalar() or 0


class _RolledBack(Exception):
    """Thrown into the write transaction to roll it back."""


class Load:
    """The write transaction of one import: ids, rows, executemany, the audit event.

    Records come in file order, accounts before contacts before domains; references must already
    be known (`account_ids` and `contact_ids` hold those into the store). Ids: accounts and
    domains after the highest id; a contact whose handle is ILC<n> gets id n when n is free, so
    that our handles stay derived from our ids; other contacts get ids after all of those, given
    when the contacts are complete (`close_contacts`). Each row is the values the load gives
    (format.FILLED_BY_LOAD) followed by the record's checked values.
    """

    def __init__(
        self,
        store: Store,
        options: ImportOptions,
        advance: Callable[[int], None] = lambda _n: None,
    ) -> None:
        self.options = options
        self.stack = ExitStack()
        self.session = self.stack.enter_context(store.write())
        self.conn = self.session.connection()
        self.writer = _Writer(self.conn, advance, options.write_batch)
        self.advance = advance
        self.not_house = codec_for(self.conn.dialect.name).flag(False)
        con = CONTACT_TABLE.c
        house = self.conn.execute(select(con.id, con.handle).where(IS_HOUSE)).first()
        if house is None:
            self.stack.close()
            raise ImportFileError("this store has no house contact; open it with Store.open()")
        self.house_id: int = house.id
        self.house_handle: str = house.handle
        self.next_account = _max_id(self.conn, ACCOUNT_TABLE) + 1
        self.first_free = _max_id(self.conn, CONTACT_TABLE) + 1
        self.next_domain = _max_id(self.conn, DOMAIN_TABLE) + 1
        self.account_ids: dict[str, int] = {}
        self.contact_ids: dict[str, int] = {self.house_handle: self.house_id}
        self.unclaimed: list[ContactRecord] = []
        self.max_claimed = 0
        self.rebuild: list[str] = []
        self.counts = dict.fromkeys(("accounts", "contacts", "domains", "roles", "ds"), 0)
        self.house_mapped = 0

    def defer_indexes(self, adding: Mapping[str, int]) -> list[str]:
        """Drop the secondary indexes of the tables this import fills (see defer_indexes)."""
        dropped = defer_indexes(self.conn, adding, self.options.defer_indexes_min_rows)
        self.rebuild.extend(dropped)
        return dropped

    def map_house(self, handle: str | None) -> None:
        """The file's house contact is this store's house contact."""
        if handle is not None:
            self.contact_ids[handle] = self.house_id
        self.house_mapped = 1
        self.advance(1)

    def add_accounts(self, records: list[AccountRecord]) -> None:
        rows = []
        for record in records:
            self.account_ids[record.number] = self.next_account
            rows.append((self.next_account, *record.values))
            self.next_account += 1
        self.counts["accounts"] += self.writer.write(ACCOUNT_TABLE, rows)

    def add_contacts(self, records: list[ContactRecord]) -> None:
        """Contacts other than the house contact; those without an id of their own wait."""
        rows = []
        for record in records:
            handle = record.handle
            match = _OWN_HANDLE.match(handle) if handle else None
            claimed = int(match.group(1)) if match else 0
            if handle is not None and self.first_free <= claimed <= _MAX_CLAIMED_ID:
                self.max_claimed = max(self.max_claimed, claimed)
                self.contact_ids[handle] = claimed
                rows.append(self._contact_row(claimed, handle, record))
            else:
                self.unclaimed.append(record)
        self.counts["contacts"] += self.writer.write(CONTACT_TABLE, rows)

    def close_contacts(self) -> None:
        """Give the waiting contacts the ids after every claimed one, and write them."""
        next_id = max(self.first_free - 1, self.max_claimed) + 1
        rows = []
        for record in self.unclaimed:
            handle = record.handle or contact_handle(next_id)
            if record.handle is not None:
                self.contact_ids[record.handle] = next_id
            rows.append(self._contact_row(next_id, handle, record))
            next_id += 1
        self.unclaimed = []
        self.counts["contacts"] += self.writer.write(CONTACT_TABLE, rows)

    def _contact_row(self, contact_id: int, handle: str, record: ContactRecord) -> tuple[Any, ...]:
        account_id = self.account_ids[record.account] if record.account is not None else None
        return (contact_id, handle, account_id, self.not_house, *record.values)

    def add_domains(self, records: list[DomainRecord]) -> None:
        """Domains with their roles and DS records (written as they are: the registry holds
        them already, so nothing is queued in the outbox)."""
        rows: list[tuple[Any, ...]] = []
        roles: list[tuple[Any, ...]] = []
        ds: list[tuple[Any, ...]] = []
        for record in records:
            domain_id = self.next_domain
            self.next_domain += 1
            rows.append((domain_id, self.account_ids[record.account], *record.values))
            given = record.roles
            if "tech" not in given:
                given = {**given, "tech": self.house_handle}
            roles.extend((domain_id, role, self.contact_ids[h]) for role, h in given.items())
            ds.extend((domain_id, *parts) for parts in record.ds)
        self.counts["domains"] += self.writer.write(DOMAIN_TABLE, rows)
        self.counts["roles"] += self.writer.write(ROLE_TABLE, roles)
        if ds:
            self.counts["ds"] += self.writer.write(DS_TABLE, ds)

    def finish(self, report: ImportReport, actor: str) -> None:
        """Rebuild the deferred indexes, write the audit event, commit."""
        try:
            for sql in self.rebuild:
                self.conn.exec_driver_sql(sql)
            if self.conn.dialect.name == "postgresql":
                # Ids were given, not drawn from the sequences: move the sequences past them.
                for table in (ACCOUNT_TABLE, CONTACT_TABLE, DOMAIN_TABLE):
                    self.conn.exec_driver_sql(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                        f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {table.name}), false)"
                    )
            report.accounts = self.counts["accounts"]
            report.contacts = self.counts["contacts"]
            report.domains = self.counts["domains"]
            report.roles = self.counts["roles"]
            report.ds = self.counts["ds"]
            report.house_mapped = self.house_mapped
            audit.record(
                self.session,
                actor=actor,
                action="store.import",
                entity_type="store",
                entity_id=report.source[:64],
                changes={
                    "file": report.source,
                    **report.counts(),
                    "house_contact_mapped": report.house_mapped,
                    "rejected": dict(report.rejected),
                },
            )
        except BaseException:
            self.abort()
            raise
        self.stack.close()  # commits

    def abort(self) -> None:
        """Roll everything back."""
        self.stack.__exit__(_RolledBack, _RolledBack(), None)


def write_checked(
    store: Store,
    checked: Checked,
    links: Links,
    report: ImportReport,
    *,
    actor: str,
    progress: Progress | None,
    options: ImportOptions,
) -> None:
    """Insert every good record in one transaction, with the one audit event of the import."""
    house_index = checked.meta.get("house_index")
    accounts = [r for r in checked.accounts if r is not None]
    contacts = [r for i, r in enumerate(checked.contacts) if r is not None and i != house_index]
    domains = [r for r in checked.domains if r is not None]
    task = None
    if progress is not None:
        total = len(accounts) + len(contacts) + 3 * len(domains)
        task = progress.add_task("writing", total=total or 1)

    def advance(n: int) -> None:
        if progress is not None and task is not None:
            progress.advance(task, n)

    batch = options.write_batch
    load = Load(store, options, advance)
    try:
        load.defer_indexes(
            {
                "account": len(accounts),
                "contact": len(contacts),
                "domain": len(domains),
                "domain_contact": 2 * len(domains),
            }
        )
        load.account_ids.update(links.accounts)
        load.contact_ids.update(links.contacts)
        if house_index is not None:
            house = checked.contacts[house_index]
            if house is not None:
                load.map_house(house.handle)
        for i in range(0, len(accounts), batch):
            load.add_accounts(accounts[i : i + batch])
        for i in range(0, len(contacts), batch):
            load.add_contacts(contacts[i : i + batch])
        load.close_contacts()
        for i in range(0, len(domains), batch):
            load.add_domains(domains[i : i + batch])
    except BaseException:
        load.abort()
        raise
    load.finish(report, actor)
    if progress is not None and task is not None:
        progress.remove_task(task)
