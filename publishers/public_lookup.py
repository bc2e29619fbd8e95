"""The one read path of the public services (WHOIS and RDAP): query -> name -> view -> bytes.

`PublicLookup` first looks for the domain's answer rendered ahead by the publisher
(publishers/published.py: one indexed read; the database's triggers drop such an answer in the
same transaction as any change to its data). Failing that, it fetches the domain with its
contacts in one query (publishers/answer_reader.py), builds the policy's `PublicationView` (the
only thing the renderers see) and renders it with the service's renderer. Answers are also kept
in a small in-memory cache bounded in bytes (publishers/answer_cache.py), and a cached answer is
only given when the store provably has not changed it:

- on SQLite, `PRAGMA data_version` (a counter that moves whenever another connection commits)
  says in a microsecond that nothing at all was written since the answer was checked;
- otherwise (something was written, or PostgreSQL) one indexed query reads the domain's
  fingerprint (its id, version and update time, and each role's contact id, version and update
  time) and the answer is reused only if it is the same.

So a change in the store shows in the next answer. The answer's generation time (WHOIS's
`Last update of WHOIS database`, RDAP's `last update of RDAP database` event) is the time of
each answer: answers are rendered once with a sentinel time that is replaced when served.
Queries are read by publishers/query_names.py.

With `published_only` (a database role that may not read contacts, such as `interlink_rdds`)
the answers rendered ahead are the only source: a name without one is "not found" when the
store does not hold the domain (its name is all this reads of the domain table), and
`LookupUnavailable` when it does but its answer is not rendered yet (the publisher runs
elsewhere, under a role that may read contacts). The contact table is never read.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from domains.settings import Settings
from domains.store import DomainRecord, Store
from publishers.answer_cache import AnswerCache, CachedAnswer
from publishers.answer_reader import AnswerReader, LookupUnavailable, fingerprint
from publishers.answer_reads import AnswerReads
from publishers.policy import PublicationView, RegistrarView, build_view
from publishers.profiles import Profile, Publications
from publishers.published import SENTINEL, SENTINEL_TEXT, Publication
from publishers.query_names import normalise
from publishers.records import record_from_rows
from publishers.tld_publication import chosen_publications


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


class PublicLookup:
    """Query -> rendered answer, through the policy's view, for one public service.

    `render` turns a PublicationView into the service's bytes (WHOIS text, RDAP JSON). Use one
    instance per service. `answer` is the one way to an answer; `answer_async` runs it off the
    event loop where that pays, and `answer_now` is its non-blocking first step (the cache's
    fast path), run on the event loop thread. A miss reads the store on the loop thread too
    when the store is SQLite (a local file read in tens of microseconds: a thread hop would
    cost more than it saves, and the GIL would make the loop wait for the thread anyway), and
    on a small pool of threads otherwise (PostgreSQL, a network round trip), or when `threads`
    is given.
    """

    def __init__(
        self,
        store: Store,
        render: Callable[[PublicationView], bytes],
        *,
        settings: Settings | None = None,
        profile: Publications | Profile | str | None = None,
        cache_bytes: int | None = None,
        threads: int | None = None,
        service: str | None = None,
        publication: Publication | None = None,
        published_only: bool = False,
        reads: AnswerReads | None = None,
    ) -> None:
        self.store = store
        self.published_only = published_only
        self.settings = settings or store.settings
        serve = self.settings.serve
        # Each domain is rendered under its TLD's profile (None: the settings' registries file).
        self.publications = (
            publication.publications
            if publication is not None and profile is None
            else chosen_publications(self.settings, profile)
        )
        self.registrar = RegistrarView.from_settings(self.settings.registrar)
        self.render = render
        # The answers rendered ahead (publishers/published.py) of `service`, when it has them.
        if not serve.publish_answers:
            service = None
        if published_only and service is None:
            raise ValueError(
                "this database role may not read contacts, so it answers from the answers "
                "rendered ahead only: serve.publish_answers must stay on"
            )
        self.service = service
        self.publication = None
        if service is not None:
            self.publication = publication or Publication(self.settings, self.publications)
        self.cache = AnswerCache(serve.answer_cache_bytes if cache_bytes is None else cache_bytes)
        self.reader = AnswerReader(store, service)
        inline = store.is_sqlite if threads is None else threads == 0
        self._pool = (
            None
            if inline
            else ThreadPoolExecutor(
                max_workers=threads or serve.lookup_threads, thread_name_prefix="rdds-lookup"
            )
        )
        # PostgreSQL, in a server's event loop: answers rendered ahead read asynchronously and
        # kept in `noticed`, which the database's notices keep current (answer_notices.py).
        self._reads = reads if service is not None else None
        self.noticed = AnswerCache(self.cache.max_bytes)
        if self._reads is not None:
            self._reads.notices.subscribe(self._drop)
        self._now_second = -1
        self._now_text = b""
        self.stats = {
            "hits": 0,
            "published": 0,
            "checked": 0,
            "built": 0,
            "missing": 0,
            "unrendered": 0,
            "noticed": 0,
            "read": 0,
        }

    def _query(self, kind: str, name: str) -> list[dict[str, Any]]:
        """The rows of the `fetch`, `fingerprint`, `ds` or `published` query for an A-label."""
        return self.reader.query(kind, name, self.publication.key if self.publication else None)

    def _record(self, name: str, rows: list[dict[str, Any]]) -> DomainRecord:
        """The record of `fetch`'s rows, with the DS records of a signed domain (read after
        them: a DS change moves the domain's version too, so the fingerprint of these rows is
        never newer than the DS records read)."""
        ds = self._query("ds", name) if rows[0]["dnssec"] else []
        return record_from_rows(rows, ds)

    def view(self, name: str, *, now: datetime | None = None) -> PublicationView | None:
        """The public view of the domain `name` (A-label or U-label), None when not ours."""
        name = normalise(name)
        rows = self._query("fetch", name)
        if not rows:
            return None
        return build_view(
            self._record(name, rows),
            profile=self.publications,
            registrar=self.registrar,
            now=now,
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

    def _answer(self, name: str, entry: CachedAnswer) -> Answer:
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
        entry = self.cache.get(name)
        if entry is None or entry.checked is None:
            # On SQLite an answer rendered ahead is a local indexed read: as quick.
            return self._published(name) if self._pool is None else None
        if entry.checked != self.reader.data_token():
            return None
        self.cache.touch(name)
        self.stats["hits"] += 1
        return self._answer(name, entry)

    def answer(self, name: str) -> Answer:
        """The answer for a query (A-label or U-label), read on this thread: from the cache
        when still right, else from the store. QueryError for a query that is not a name,
        LookupUnavailable when the store cannot be read."""
        name = normalise(name)
        return self.answer_now(name) or self._refresh(name, self.reader.data_token())

    async def answer_ready(self, name: str) -> Answer | None:
        """The answer when it is ready without building it: cached and provably current, or
        rendered ahead; None means: use `answer_async`. `name` is an A-label from `normalise`.

        On SQLite this is `answer_now`. On PostgreSQL in a server (with `reads`), a cached
        answer is given after a barrier (every change committed before now is known and its
        answer dropped), and one not cached is read with others in one query.
        """
        reads = self._reads
        if reads is None:
            return self.answer_now(name)
        assert self.publication is not None  # reads are only given with a service
        notices = reads.notices
        if notices.listening and self.noticed.get(name) is not None:
            try:
                await notices.barrier()
                entry = self.noticed.get(name)  # still there: no change was committed since
            except LookupUnavailable:  # no longer listening: every cached answer is dropped
                entry = None
            if entry is not None:
                self.noticed.touch(name)
                self.stats["hits"] += 1
                return self._answer(name, entry)
        seq = notices.seq
        blob = await reads.read(self.service or "", self.publication.key, name)
        if blob is None:
            return None
        self.stats["read"] += 1
        body = self.publication.unpack(self.service or "", blob)
        head, stamp, tail = body.partition(SENTINEL_TEXT)
        entry = CachedAnswer(None, head, tail if stamp else None)
        if not notices.dropped_since(name, seq):
            self.noticed.keep(name, entry)
        return self._answer(name, entry)

    def _drop(self, name: str | None) -> None:
        """A notice: the answer of `name` (None: of every name) changed."""
        if name is None:
            self.noticed.clear()
        else:
            self.noticed.drop(name)
            self.stats["noticed"] += 1

    async def answer_async(self, name: str) -> Answer:
        """`answer`, for the event loop: a miss reads the store on the lookup threads when
        there are any (see `inline`)."""
        return await self.answer_alabel(normalise(name))

    async def answer_alabel(self, name: str) -> Answer:
        """`answer_async` for an A-label from `normalise` (not normalised again)."""
        hit = await self.answer_ready(name)
        if hit is not None:
            return hit
        token = self.reader.data_token()  # read before the store, so a later commit invalidates
        if self._pool is None:
            return self._refresh(name, token)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self._refresh, name, token)

    @property
    def inline(self) -> bool:
        """True when a miss is answered on the calling thread (SQLite): `answer` may be called
        on the event loop."""
        return self._pool is None

    def _published(self, name: str) -> Answer | None:
        """The answer rendered ahead for `name` when there is a current one (one indexed read).

        Needs no freshness check: the store's triggers make a changed domain's row stale in
        the same transaction as the change.
        """
        if self.publication is None:
            return None
        blob = self.reader.published(name, self.publication.key)
        if blob is None:
            return None
        self.stats["published"] += 1
        body = self.publication.unpack(self.service or "", blob)
        return Answer(name, body.replace(SENTINEL_TEXT, self._stamp(), 1))

    def _refresh(self, name: str, token: Any) -> Answer:
        published = self._published(name)
        if published is not None:
            return published
        if self.published_only:
            return self._unpublished(name)
        entry = self.cache.get(name)
        if (
            entry is not None
            and entry.fingerprint is not None
            and fingerprint(self._query("fingerprint", name)) == entry.fingerprint
        ):
            entry.checked = token
            self.stats["checked"] += 1
            return self._answer(name, entry)
        rows = self._query("fetch", name)
        if not rows:
            self.stats["missing"] += 1
            entry = CachedAnswer(None, None, None)
        else:
            self.stats["built"] += 1
            record = self._record(name, rows)
            view = build_view(
                record, profile=self.publications, registrar=self.registrar, now=SENTINEL
            )
            body = self.render(view)
            stamps = body.count(SENTINEL_TEXT)
            if stamps > 1:
                # Cannot stamp it later: render it for now and keep nothing.
                fresh = build_view(record, profile=self.publications, registrar=self.registrar)
                return Answer(name, self.render(fresh))
            if stamps == 0:  # an answer without a time (a referral): kept as it is
                entry = CachedAnswer(fingerprint(rows), body, None)
            else:
                head, _, tail = body.partition(SENTINEL_TEXT)
                entry = CachedAnswer(fingerprint(rows), head, tail)
        entry.checked = token
        self.cache.keep(name, entry)
        return self._answer(name, entry)

    def _unpublished(self, name: str) -> Answer:
        """No answer rendered ahead, and no reading of contacts: not ours, or not ready."""
        if not self._query("exists", name):
            self.stats["missing"] += 1
            return Answer(name, None)
        self.stats["unrendered"] += 1
        raise LookupUnavailable(f"no answer rendered yet for {name}")

    def clear(self) -> None:
        """Forget every cached answer."""
        self.cache.clear()
        self.noticed.clear()

    @property
    def cached_bytes(self) -> int:
        """Bytes held by the answer cache (with a fixed overhead per entry)."""
        return self.cache.size

    def close(self) -> None:
        """Stop the lookup threads and close the store connections this lookup opened."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        self.reader.close()
        self.clear()
