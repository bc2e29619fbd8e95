"""The one read path of the public services (WHOIS and RDAP): query -> name -> view -> bytes.

`normalise` turns what a client typed (A-label or U-label, any case, one trailing dot) into the
A-label the store keys domains by, or refuses it with a one-line reason (`QueryError`): control
characters, not IDNA2008, a label over 63 octets, no dot, letters of two scripts in one label (no
registry registers such a label; it is how homograph look-alikes are made).

`PublicLookup` first looks for the domain's answer rendered ahead by the publisher
(publishers/published.py: one indexed read; the database's triggers drop such an answer in the
same transaction as any change to its data). Failing that, it fetches the domain with its
contacts in one prepared query, builds the policy's `PublicationView` (the only thing the
renderers see) and renders it with the service's renderer. Answers are also kept in a small
in-memory cache bounded in bytes, and a cached answer is only given when the store provably has
not changed it:

- on SQLite, `PRAGMA data_version` (a counter that moves whenever another connection commits)
  says in a microsecond that nothing at all was written since the answer was checked;
- otherwise (something was written, or PostgreSQL) one indexed query reads the domain's
  fingerprint (its id, version and update time, and each role's contact id, version and update
  time) and the answer is reused only if it is the same.

So a change in the store shows in the next answer. The answer's generation time (WHOIS's
`Last update of WHOIS database`, RDAP's `last update of RDAP database` event) is the time of
each answer: answers are rendered once with a sentinel time that is replaced when served.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import sqlite3
import threading
import time
import unicodedata
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, TypeVar

import idna
from sqlalchemy import Connection, bindparam, select
from sqlalchemy.exc import SQLAlchemyError

from domains import explain
from domains.models import UTCDateTime
from domains.settings import Settings
from domains.store import Store
from publishers.policy import PublicationView, RegistrarView, build_view
from publishers.profiles import Profile, get_profile
from publishers.published import SENTINEL, SENTINEL_TEXT, Publication, lookup_statement
from publishers.records import CONTACT, DOMAIN, DOMAIN_CONTACT, record_from_rows, record_query

log = logging.getLogger(__name__)

MAX_QUERY_CHARS = 512
MAX_NAME_OCTETS = 253
#: Scripts that may share a label with each other (Japanese, Korean, Chinese, with ASCII).
_EAST_ASIAN = frozenset({"CJK", "HIRAGANA", "KATAKANA", "KATAKANA-HIRAGANA", "HANGUL", "BOPOMOFO"})
_ENTRY_OVERHEAD = 256
READ_MMAP_BYTES = 4 << 30
READ_CACHE_KIB = 64 << 10
_T = TypeVar("_T")


class QueryError(ValueError):
    """A query that is not a domain name; the message is one printable ASCII line."""


class LookupUnavailable(RuntimeError):
    """The store could not be read (a database error); the service should say so briefly."""


def _printable(text: str, limit: int = 120) -> str:
    """One short line of printable ASCII (anything else becomes '?')."""
    cleaned = "".join(ch if " " <= ch <= "~" else "?" for ch in text)
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 3] + "..."


def _script(char: str) -> str | None:
    """A letter's script from its Unicode name (LATIN, CYRILLIC, CJK...); None for a non-letter."""
    if not unicodedata.category(char).startswith("L"):
        return None
    if char.isascii():
        return "ASCII"
    name = unicodedata.name(char, "")
    return name.split(" ", 1)[0] if name else "UNKNOWN"


def mixed_scripts(label: str) -> tuple[str, ...]:
    """The scripts a label mixes when they may not share a label; () when it is fine.

    One script per label (ASCII letters count as Latin), except that the East Asian scripts go
    together and with ASCII letters, as .jp, .cn and .kr allow.
    """
    scripts = {s for s in map(_script, label) if s is not None}
    if len(scripts) <= 1 or scripts <= _EAST_ASIAN | {"ASCII"}:
        return ()
    scripts = {"LATIN" if s == "ASCII" else s for s in scripts}
    return tuple(sorted(scripts)) if len(scripts) > 1 else ()


@lru_cache(maxsize=4096)
def _normalised(query: str) -> tuple[bool, str]:
    """(True, A-label) or (False, reason): cached, since the same names are asked again."""
    raw = query.strip(" ")  # str.strip() would also eat controls such as U+0085 and U+2028
    if not raw:
        return False, "empty query; send a domain name such as example.com"
    if len(raw) > MAX_QUERY_CHARS:
        return False, "query too long"
    for char in raw:
        if unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
            return False, f"control or invisible character U+{ord(char):04X} in the query"
        if char.isspace():
            return False, "the query holds a space; send one domain name"
    if raw.endswith("."):
        raw = raw[:-1]
    try:
        alabel = idna.encode(raw, uts46=True, transitional=False).decode("ascii").lower()
        ulabel = idna.decode(alabel)
    except idna.IDNAError:
        return False, f"not a valid domain name: {_printable(explain.name_problem(raw), 160)}"
    except (UnicodeError, ValueError):
        return False, "not a valid domain name"
    if len(alabel) > MAX_NAME_OCTETS:
        return False, f"name longer than {MAX_NAME_OCTETS} octets"
    if "." not in alabel:
        return False, "not a full domain name; send it with its TLD, e.g. example.com"
    for label in ulabel.split("."):
        mixed = mixed_scripts(label)
        if mixed:
            return False, f"a label mixes scripts ({', '.join(mixed)}); no such name is registered"
    return True, alabel


#: A plain LDH name: letters, digits and hyphens, no hyphen at either end of a label. UTS-46
#: maps it to its lower case and IDNA2008 has nothing more to check in it, unless a label has
#: hyphens in its 3rd and 4th places (A-labels, reserved labels): those go through idna.
_PLAIN = re.compile(
    r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
)


def _plain(query: str) -> str | None:
    """The A-label of a plain LDH query (any case, one trailing dot); None for anything else."""
    if not query.isascii():
        return None
    name = query.lower()
    if name.endswith("."):
        name = name[:-1]
    if len(name) > MAX_NAME_OCTETS or _PLAIN.fullmatch(name) is None:
        return None
    if "--" in name and any(label[2:4] == "--" for label in name.split(".")):
        return None
    return name


def normalise(query: str) -> str:
    """The A-label (lower case) of a query in A-label or U-label form, or QueryError."""
    # Most queries are plain ASCII names: those skip the idna package (tens of microseconds).
    plain = _plain(query)
    if plain is not None:
        return plain
    ok, value = _normalised(query)
    if not ok:
        raise QueryError(value)
    return value


def iso_now() -> str:
    """Now, as the renderers write times (UTC, seconds, Z)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True)
class Answer:
    """A domain's rendered answer (found), or None for a name that is not in the store."""

    name: str
    body: bytes | None

    @property
    def found(self) -> bool:
        """True when the store holds the domain."""
        return self.body is not None


class _Entry:
    __slots__ = ("checked", "fingerprint", "head", "size", "tail")

    def __init__(self, fingerprint: Any, head: bytes | None, tail: bytes | None) -> None:
        self.fingerprint = fingerprint
        self.head = head
        self.tail = tail
        self.checked: Any = None
        self.size = _ENTRY_OVERHEAD + len(head or b"") + len(tail or b"")


_D, _DC, _C = DOMAIN, DOMAIN_CONTACT, CONTACT
_FETCH = record_query().where(_D.c.name == bindparam("name"))
_FINGERPRINT = (
    select(
        _D.c.id,
        _D.c.version,
        _D.c.updated_at,
        _DC.c.role,
        _C.c.id.label("c_id"),
        _C.c.version.label("c_version"),
        _C.c.updated_at.label("c_updated_at"),
    )
    .outerjoin(_DC, _DC.c.domain_id == _D.c.id)
    .outerjoin(_C, _C.c.id == _DC.c.contact_id)
    .where(_D.c.name == bindparam("name"))
)


def _fast_utc(general: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """SQLite's text times ("2024-01-01 00:00:00.000000", UTC) read with fromisoformat.

    The same result as the column type's processor (an aware UTC datetime), at a tenth of the
    cost; anything fromisoformat does not read goes to that processor.
    """

    def process(value: Any) -> Any:
        if value is None:
            return None
        try:
            parsed = datetime.fromisoformat(value)
        except (TypeError, ValueError):
            return general(value)
        if parsed.tzinfo is None:
            return parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)

    return process


class _Prepared:
    """A SELECT compiled once for the store's dialect, run on a raw SQLite connection.

    On SQLite the raw driver connection runs in autocommit mode (domains.db), so each SELECT is
    its own consistent snapshot and no transaction is left open; column values go through the
    same SQLAlchemy result processors as ORM reads (aware UTC times, JSON lists, booleans).
    """

    def __init__(self, statement: Any, dialect: Any) -> None:
        compiled = statement.compile(dialect=dialect)
        self.sql = str(compiled)
        self.params = tuple(compiled.positiontup or ())
        columns = list(statement.selected_columns)
        self.keys = tuple(column.name for column in columns)
        processors = []
        for index, column in enumerate(columns):
            process = column.type._cached_result_processor(dialect, None)
            if process is not None and isinstance(column.type, UTCDateTime):
                process = _fast_utc(process)
            if process is not None:
                processors.append((index, process))
        self.processors = tuple(processors)

    def run(self, cursor: Any, values: dict[str, Any]) -> list[dict[str, Any]]:
        cursor.execute(self.sql, tuple(values[name] for name in self.params))
        rows = []
        for raw in cursor.fetchall():
            row = list(raw)
            for index, process in self.processors:
                row[index] = process(row[index])
            rows.append(dict(zip(self.keys, row, strict=True)))
        return rows


def _fingerprint(rows: list[dict[str, Any]]) -> tuple[Any, ...] | None:
    """What identifies one state of a domain's record: versions and update times."""
    if not rows:
        return None
    first = rows[0]
    roles = sorted(
        (m["role"], m["c_id"], m["c_version"], m["c_updated_at"])
        for m in rows
        if m["role"] is not None
    )
    return (first["id"], first["version"], first["updated_at"], tuple(roles))


class PublicLookup:
    """Query -> rendered answer, through the policy's view, for one public service.

    `render` turns a PublicationView into the service's bytes (WHOIS text, RDAP JSON). Use one
    instance per service; `answer_now` (the cache's fast path) runs on the event loop thread,
    a miss reads the store on the loop thread too when the store is SQLite (a local file read in
    tens of microseconds: a thread hop would cost more than it saves, and the GIL would make
    the loop wait for the thread anyway), and on a small pool of threads otherwise (PostgreSQL,
    a network round trip), or when `threads` is given.
    """

    def __init__(
        self,
        store: Store,
        render: Callable[[PublicationView], bytes],
        *,
        settings: Settings | None = None,
        profile: Profile | str | None = None,
        cache_bytes: int | None = None,
        threads: int | None = None,
        service: str | None = None,
        publication: Publication | None = None,
    ) -> None:
        self.store = store
        self.settings = settings or store.settings
        serve = self.settings.serve
        self.profile = get_profile(profile) if isinstance(profile, str) else profile
        if self.profile is None:
            self.profile = get_profile(self.settings.publication_profile)
        self.registrar = RegistrarView.from_settings(self.settings.registrar)
        self.render = render
        # The answers rendered ahead (publishers/published.py) of `service`, when it has them.
        if not serve.publish_answers:
            service = None
        self.service = service
        self.publication = None
        if service is not None:
            self.publication = publication or Publication(self.settings, self.profile)
        self.cache_bytes = serve.answer_cache_bytes if cache_bytes is None else cache_bytes
        self._cache: OrderedDict[str, _Entry] = OrderedDict()
        self._cache_size = 0
        self._lock = threading.Lock()
        self._local = threading.local()
        self._connections: list[Any] = []
        inline = store.is_sqlite if threads is None else threads == 0
        self._pool = (
            None
            if inline
            else ThreadPoolExecutor(
                max_workers=threads or serve.lookup_threads, thread_name_prefix="rdds-lookup"
            )
        )
        self._sqlite = store.is_sqlite
        self._prepared = (
            {
                "fetch": _Prepared(_FETCH, store.engine.dialect),
                "fingerprint": _Prepared(_FINGERPRINT, store.engine.dialect),
            }
            if self._sqlite
            else {}
        )
        self._published_sql = (
            str(lookup_statement(service).compile(dialect=store.engine.dialect))
            if service is not None
            else ""
        )
        self._now_second = -1
        self._now_text = b""
        self.stats = {"hits": 0, "published": 0, "checked": 0, "built": 0, "missing": 0}

    # -- the store ---------------------------------------------------------------------

    def _raw(self) -> Any:
        """This thread's raw SQLite connection and cursor (opened on first use)."""
        raw = getattr(self._local, "raw", None)
        if raw is None:
            fairy = self.store.engine.raw_connection()
            with self._lock:
                self._connections.append(fairy)
            cursor = fairy.driver_connection.cursor()
            # Lookups jump all over a large store: map it, rather than a read() per page.
            cursor.execute(f"PRAGMA mmap_size={READ_MMAP_BYTES}")
            cursor.execute(f"PRAGMA cache_size=-{READ_CACHE_KIB}")
            raw = self._local.raw = (fairy, cursor)
        return raw

    def _connection(self) -> Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self.store.engine.connect()
            with self._lock:
                self._connections.append(conn)
        return conn

    def _drop_connections(self) -> None:
        """Forget this thread's connections after an error; the next query opens new ones."""
        for attribute in ("conn", "raw"):
            held = getattr(self._local, attribute, None)
            setattr(self._local, attribute, None)
            if held is None:
                continue
            conn = held[0] if isinstance(held, tuple) else held
            with self._lock:
                if conn in self._connections:
                    self._connections.remove(conn)
            try:
                conn.invalidate()
                conn.close()
            except Exception:  # a broken connection may fail to close; it is dropped anyway
                log.debug("closing a broken store connection failed", exc_info=True)

    def _read(self, read: Callable[[], _T]) -> _T:
        """`read()` on this thread's connection; after a database error, once more on a fresh
        connection (a held connection may have died under us: a server restart, a terminated
        backend). A read is safe to repeat; LookupUnavailable when the second one fails too."""
        try:
            return read()
        except (SQLAlchemyError, sqlite3.Error) as exc:
            self._drop_connections()
            log.info("store read failed (%s); trying a fresh connection", type(exc).__name__)
        try:
            return read()
        except (SQLAlchemyError, sqlite3.Error) as exc:
            self._drop_connections()
            log.warning("store read failed: %s", type(exc).__name__)
            raise LookupUnavailable("the store cannot be read just now") from None

    def _query(self, kind: str, name: str) -> list[dict[str, Any]]:
        """The rows of the prepared `fetch`, `fingerprint` or `published` query for an A-label."""
        values = {"name": name, "key": self.publication.key if self.publication else None}
        if self._sqlite:
            prepared = self._prepared[kind]
            return self._read(lambda: prepared.run(self._raw()[1], values))
        if kind == "published":
            statement = lookup_statement(self.service or "")
        else:
            statement = _FETCH if kind == "fetch" else _FINGERPRINT

        def read() -> list[dict[str, Any]]:
            conn = self._connection()
            rows = [dict(row._mapping) for row in conn.execute(statement, values)]
            conn.rollback()  # end the read transaction: the next query sees new commits
            return rows

        return self._read(read)

    def _data_token(self) -> Any:
        """A token that stays equal while nothing is committed to the store (SQLite), or None."""
        if not self._sqlite:
            return None
        try:
            fairy, cursor = self._raw()
            cursor.execute("PRAGMA data_version")
            return (id(fairy), cursor.fetchone()[0])
        except (SQLAlchemyError, sqlite3.Error):
            self._drop_connections()
            return None

    def view(self, name: str, *, now: datetime | None = None) -> PublicationView | None:
        """The public view of the domain `name` (A-label or U-label), None when not ours."""
        rows = self._query("fetch", normalise(name))
        if not rows:
            return None
        return build_view(
            record_from_rows(rows), profile=self.profile, registrar=self.registrar, now=now
        )

    # -- answers -----------------------------------------------------------------------

    def _stamp(self) -> bytes:
        second = int(time.time())
        if second != self._now_second:
            self._now_text = (
                datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%SZ").encode()
            )
            self._now_second = second
        return self._now_text

    def _answer(self, name: str, entry: _Entry) -> Answer:
        if entry.head is None:
            return Answer(name, None)
        if entry.tail is None:
            return Answer(name, entry.head)
        return Answer(name, entry.head + self._stamp() + entry.tail)

    def answer_now(self, name: str) -> Answer | None:
        """The cached answer when the store provably did not change since it was checked, or
        (on SQLite) the answer rendered ahead.

        `name` is an A-label from `normalise`. Costs microseconds; None means: use `answer`.
        LookupUnavailable when the store cannot be read.
        """
        entry = self._cache.get(name)
        if entry is None or entry.checked is None:
            # On SQLite an answer rendered ahead is a local indexed read: as quick.
            return self._published(name) if self._pool is None else None
        if entry.checked != self._data_token():
            return None
        with contextlib.suppress(KeyError):  # evicted meanwhile by a lookup thread
            self._cache.move_to_end(name)
        self.stats["hits"] += 1
        return self._answer(name, entry)

    async def answer(self, name: str) -> Answer:
        """The answer for an A-label: from the cache when still right, else from the store."""
        hit = self.answer_now(name)
        if hit is not None:
            return hit
        token = self._data_token()  # read before the store, so a later commit invalidates
        loop = asyncio.get_running_loop()
        if self._pool is None:
            return self._refresh(name, token)
        return await loop.run_in_executor(self._pool, self._refresh, name, token)

    @property
    def inline(self) -> bool:
        """True when a miss is answered on the calling thread (SQLite): see `answer_here`."""
        return self._pool is None

    def answer_here(self, name: str) -> Answer:
        """The answer for an A-label, read on this thread (for `inline` lookups)."""
        return self.answer_now(name) or self._refresh(name, self._data_token())

    def answer_sync(self, name: str) -> Answer:
        """The same as `answer`, for callers without an event loop (the name is normalised)."""
        name = normalise(name)
        return self.answer_now(name) or self._refresh(name, self._data_token())

    def _published(self, name: str) -> Answer | None:
        """The answer rendered ahead for `name` when there is a current one (one indexed read).

        Needs no freshness check: the store's triggers make a changed domain's row stale in
        the same transaction as the change.
        """
        if self.publication is None:
            return None
        if self._sqlite:
            key = self.publication.key

            def read() -> Any:
                cursor = self._raw()[1]
                cursor.execute(self._published_sql, (name, key))
                return cursor.fetchone()

            row = self._read(read)
        else:
            rows = self._query("published", name)
            row = (rows[0][self.service],) if rows else None
        if row is None:
            return None
        self.stats["published"] += 1
        body = self.publication.unpack(self.service or "", row[0])
        return Answer(name, body.replace(SENTINEL_TEXT, self._stamp(), 1))

    def _refresh(self, name: str, token: Any) -> Answer:
        published = self._published(name)
        if published is not None:
            return published
        entry = self._cache.get(name)
        if (
            entry is not None
            and entry.fingerprint is not None
            and _fingerprint(self._query("fingerprint", name)) == entry.fingerprint
        ):
            entry.checked = token
            self.stats["checked"] += 1
            return self._answer(name, entry)
        rows = self._query("fetch", name)
        if not rows:
            self.stats["missing"] += 1
            entry = _Entry(None, None, None)
        else:
            self.stats["built"] += 1
            view = build_view(
                record_from_rows(rows), profile=self.profile, registrar=self.registrar, now=SENTINEL
            )
            body = self.render(view)
            if body.count(SENTINEL_TEXT) != 1:
                # Cannot stamp it later: render it for now and keep nothing.
                fresh = build_view(
                    record_from_rows(rows), profile=self.profile, registrar=self.registrar
                )
                return Answer(name, self.render(fresh))
            head, _, tail = body.partition(SENTINEL_TEXT)
            entry = _Entry(_fingerprint(rows), head, tail)
        entry.checked = token
        self._keep(name, entry)
        return self._answer(name, entry)

    def _keep(self, name: str, entry: _Entry) -> None:
        if entry.size > self.cache_bytes:
            return
        with self._lock:
            old = self._cache.pop(name, None)
            if old is not None:
                self._cache_size -= old.size
            self._cache[name] = entry
            self._cache_size += entry.size
            while self._cache_size > self.cache_bytes and self._cache:
                _, dropped = self._cache.popitem(last=False)
                self._cache_size -= dropped.size

    def clear(self) -> None:
        """Forget every cached answer."""
        with self._lock:
            self._cache.clear()
            self._cache_size = 0

    @property
    def cached_bytes(self) -> int:
        """Bytes held by the answer cache (with a fixed overhead per entry)."""
        return self._cache_size

    def close(self) -> None:
        """Stop the lookup threads and close the store connections this lookup opened."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            connections, self._connections = self._connections, []
        for conn in connections:
            try:
                conn.close()
            except Exception:  # closing at shutdown: nothing more to do
                log.debug("closing a store connection failed", exc_info=True)
        self.clear()
