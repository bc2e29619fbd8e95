"""Writing a large file while it is being checked, betting that every record is good.

Most large imports are exports of another store: every record is good. Then the rows are written
batch by batch as the workers return them, in the same transaction, with the same ids and rows as
the two-step import (check everything, then write), and the time of writing hides behind the time
of checking. At the first sign of trouble (a bad record, a duplicate, a reference to something
unknown, sections out of order) it stops writing; at the end it rolls back, and the import goes
the two-step way, which reports every problem or (skip_invalid) writes the good records. The cost:
the store's write lock is held for the whole import (minutes for a million domains), not only for
the write; other writers wait (and on SQLite give up after the busy timeout) meanwhile.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from domains.exchange.format import ACCOUNT_TABLE, CONTACT_TABLE, DOMAIN_TABLE, SECTIONS
from domains.exchange.load import Load
from domains.exchange.options import ImportOptions
from domains.exchange.records import AccountRecord, CheckedBatch, ContactRecord, DomainRecord
from domains.exchange.report import ImportReport

if TYPE_CHECKING:
    from domains.store import Store

#: {key: id} of the store rows holding some keys.
KeyLookup = Callable[[list[str]], dict[str, int]]


class _Abandon(Exception):
    """The file is not perfect: the streaming load gives up."""


class Streaming:
    """The load of a file that is written while it is checked (see the module text)."""

    def __init__(self, store: Store, size: int, options: ImportOptions) -> None:
        self.load = Load(store, options)
        self.failed = False
        self.section: str | None = None
        self.house_seen = False
        self.numbers: set[str] = set()
        self.handles: set[str] = set()
        self.names: set[str] = set()
        try:
            conn = self.load.conn
            estimate = size // 300  # records, roughly
            adding = {
                "account": estimate // 8,
                "contact": estimate // 2,
                "domain": estimate // 3,
                "domain_contact": 2 * estimate // 3,
            }
            # Look-ups into the store must not need an index that is about to be dropped: the
            # keys of those tables (small next to the import, or they would keep their indexes)
            # are read first.
            held = {
                table: conn.exec_driver_sql(f'SELECT COUNT(*) FROM "{table}"').scalar_one()
                for table in adding
            }
            least = options.defer_indexes_min_rows
            deferred = {t for t, n in adding.items() if n >= least and n > held[t]}
            self.store_numbers = self._keys(ACCOUNT_TABLE.c.number, preload="account" in deferred)
            self.store_handles = self._keys(CONTACT_TABLE.c.handle, preload="contact" in deferred)
            self.store_names = self._keys(DOMAIN_TABLE.c.name, preload=False)  # UNIQUE constraint
            if conn.dialect.name == "sqlite":
                self.load.defer_indexes({t: n for t, n in adding.items() if t in deferred})
        except BaseException:
            self.load.abort()
            raise

    def _keys(self, column: Any, *, preload: bool) -> KeyLookup:
        """A look-up {key: id} of store rows, by index, or from memory when `preload`."""
        conn = self.load.conn
        id_column = column.table.c.id
        if preload:
            known: dict[str, int] = dict(conn.execute(select(column, id_column)).all())
            return lambda keys: {k: known[k] for k in keys if k in known}

        def look(keys: list[str]) -> dict[str, int]:
            found: dict[str, int] = {}
            for i in range(0, len(keys), 500):
                chunk = keys[i : i + 500]
                found.update(conn.execute(select(column, id_column).where(column.in_(chunk))).all())
            return found

        return look

    def feed(self, batch: CheckedBatch) -> None:
        """A checked batch, in file order."""
        if self.failed:
            return
        try:
            if batch.rejected:
                raise _Abandon
            section = batch.section
            if section != self.section:
                if self.section is not None and SECTIONS.index(section) < SECTIONS.index(
                    self.section
                ):
                    raise _Abandon  # out of order: references could point forward
                if self.section == "contacts":
                    self.load.close_contacts()
                self.section = section
            if section == "accounts":
                self._accounts(batch.records)
            elif section == "contacts":
                self._contacts(batch.records)
            else:
                self._domains(batch.records)
        except _Abandon:
            self.failed = True

    def _fresh(self, keys: list[str], seen: set[str], store: KeyLookup) -> None:
        """Every key new: not twice in the file, not in the store."""
        before = len(seen)
        seen.update(keys)
        if len(seen) != before + len(keys) or store(keys):
            raise _Abandon

    def _refer(self, ids: dict[str, int], wanted: set[str], store: KeyLookup) -> None:
        """References that are not in the file must be in the store."""
        missing = [k for k in wanted if k not in ids]
        if missing:
            found = store(missing)
            if len(found) != len(missing):
                raise _Abandon
            ids.update(found)

    def _accounts(self, records: list[AccountRecord]) -> None:
        self._fresh([r.number for r in records], self.numbers, self.store_numbers)
        self.load.add_accounts(records)

    def _contacts(self, records: list[ContactRecord]) -> None:
        own = []
        for record in records:
            if record.house:
                if self.house_seen:
                    raise _Abandon
                self.house_seen = True
                if record.handle is not None:
                    self._fresh([record.handle], self.handles, lambda _keys: {})
                self.load.map_house(record.handle)
            else:
                own.append(record)
        self._fresh(
            [r.handle for r in own if r.handle is not None], self.handles, self.store_handles
        )
        self._refer(
            self.load.account_ids,
            {r.account for r in own if r.account is not None},
            self.store_numbers,
        )
        self.load.add_contacts(own)

    def _domains(self, records: list[DomainRecord]) -> None:
        self._fresh([r.name for r in records], self.names, self.store_names)
        self._refer(self.load.account_ids, {r.account for r in records}, self.store_numbers)
        self._refer(
            self.load.contact_ids,
            {h for r in records for h in r.roles.values()},
            self.store_handles,
        )
        self.load.add_domains(records)

    def finish(self, report: ImportReport, actor: str) -> bool:
        """Commit if every record was good; else roll back (False)."""
        if self.failed:
            self.load.abort()
            return False
        try:
            if self.section == "contacts":
                self.load.close_contacts()
        except BaseException:
            self.load.abort()
            raise
        self.load.finish(report, actor)
        return True
