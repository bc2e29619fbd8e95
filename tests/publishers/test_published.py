"""Answers rendered ahead (publishers/published.py): the same bytes as a live answer, never
served once their data changed, whoever changes it; on SQLite and PostgreSQL."""

from __future__ import annotations

import inspect
import re
import time
from typing import Any

import pytest
from sqlalchemy import func, select, text, update

from domains.models import Contact, PublishedAnswer
from domains.settings import Registrar
from domains.store import Store
from publishers.public_lookup import PublicLookup
from publishers.published import (
    BackgroundPublisher,
    Publication,
    count_answers,
    publish,
    publish_names,
)
from publishers.rdap import rdap_bytes
from publishers.rdap_app import rdap_lookup
from publishers.whois import whois_bytes
from publishers.whois_server import whois_lookup
from tests.support.factories import contact_data, make_domain
from tests.support.rdap_schema import rdap_answer

ANSWERS = PublishedAnswer.__table__  # type: ignore[attr-defined]
#: The answer's own generation time, which differs from one answer to the next.
STAMP = re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def _stampless(body: bytes) -> bytes:
    return STAMP.sub(b"T", body)


def live(store: Store, render: Any) -> PublicLookup:
    """A lookup that never uses answers rendered ahead, nor its memory cache."""
    return PublicLookup(store, render, cache_bytes=0)


def current(store: Store, publication: Publication) -> set[str]:
    """Names with a current answer."""
    with store.engine.connect() as conn:
        rows = conn.execute(select(ANSWERS.c.name).where(ANSWERS.c.render_key == publication.key))
        return set(rows.scalars())


@pytest.fixture
def two_domains(store: Store) -> dict[str, Any]:
    """Two domains sharing a registrant, and a third one of its own."""
    first, registrant = make_domain(store, "shared-one.com")
    second = store.create_domain(
        "staff:test",
        {"name": "shared-two.net"},
        account_number=_account_number(store, first.account_id),
        contacts={"registrant": registrant.handle},
    )
    own, _ = make_domain(store, "apart.org")
    return {"names": [first.name, second.name, own.name], "registrant": registrant}


def _account_number(store: Store, account_id: int) -> str:
    with store.engine.connect() as conn:
        return conn.execute(
            text("SELECT number FROM account WHERE id = :i"), {"i": account_id}
        ).scalar_one()


def test_published_answers_are_the_live_answers(store: Store, two_domains: dict) -> None:
    publication = Publication(store.settings)
    report = publish(store, publication)
    assert report.published == 3 and report.skipped == 0
    assert count_answers(store, publication) == (3, 3)
    for factory, render in ((whois_lookup, whois_bytes), (rdap_lookup, rdap_bytes)):
        ahead = factory(store, cache_bytes=0)
        fresh = live(store, render)
        try:
            for name in two_domains["names"]:
                served = ahead.answer(name).body
                assert served is not None and b"1111-11-11" not in served
                assert _stampless(served) == _stampless(fresh.answer(name).body)
                if render is rdap_bytes:
                    rdap_answer(served, "domainAnswer")
            assert ahead.stats["published"] == 3
            assert ahead.stats["built"] == 0
        finally:
            ahead.close()
            fresh.close()


def test_a_second_pass_has_nothing_to_do(store: Store, two_domains: dict) -> None:
    publication = Publication(store.settings)
    publish(store, publication)
    assert publish(store, publication).published == 0


def test_a_contact_change_makes_every_domain_it_serves_stale(
    store: Store, two_domains: dict
) -> None:
    publication = Publication(store.settings)
    publish(store, publication)
    registrant = two_domains["registrant"]
    store.update_contact("staff:test", registrant.handle, registrant.version, {"state": "Hessen"})
    shared = set(two_domains["names"][:2])
    assert current(store, publication) == set(two_domains["names"]) - shared
    lookup = whois_lookup(store, cache_bytes=0)
    try:
        for name in shared:
            body = lookup.answer(name).body
            assert b"Registrant State/Province: Hessen" in body
        assert lookup.stats["published"] == 0
    finally:
        lookup.close()
    assert publish(store, publication).published == 2
    assert current(store, publication) == set(two_domains["names"])


def test_a_write_outside_the_store_api_is_caught_too(store: Store, two_domains: dict) -> None:
    """The triggers guard the answers whatever writes: here a bare SQL update."""
    publication = Publication(store.settings)
    publish(store, publication)
    with store.engine.begin() as conn:
        conn.execute(
            update(Contact.__table__)
            .where(Contact.__table__.c.id == two_domains["registrant"].id)
            .values(org="Quist Consulting")
        )
    assert current(store, publication) == {two_domains["names"][2]}


def test_domain_changes_and_role_moves_make_the_answer_stale(
    store: Store, two_domains: dict
) -> None:
    publication = Publication(store.settings)
    publish(store, publication)
    first, second, apart = two_domains["names"]
    domain = store.get_domain(first)
    store.update_domain(
        "staff:test", first, domain.version, {"statuses": ["clientTransferProhibited"]}
    )
    assert current(store, publication) == {second, apart}
    tech = store.create_contact(
        "staff:test", contact_data(), account_number=_account_number(store, domain.account_id)
    )
    store.assign_contact("staff:test", second, "tech", tech.handle)
    assert current(store, publication) == {apart}
    publish(store, publication)
    lookup = rdap_lookup(store, cache_bytes=0)
    try:
        assert "client transfer prohibited" in rdap_answer(lookup.answer(first).body)["status"]
        assert lookup.stats["published"] == 1
    finally:
        lookup.close()


def test_a_domain_deleted_takes_its_answer_along(store: Store, two_domains: dict) -> None:
    publication = Publication(store.settings)
    publish(store, publication)
    apart = two_domains["names"][2]
    with store.engine.begin() as conn:
        domain_id = conn.execute(
            text("SELECT id FROM domain WHERE name = :n"), {"n": apart}
        ).scalar_one()
        for table in ("change_request", "outbox_entry", "domain_contact"):
            conn.execute(text(f"DELETE FROM {table} WHERE domain_id = :i"), {"i": domain_id})
        conn.execute(text("DELETE FROM domain WHERE id = :i"), {"i": domain_id})
    with store.engine.connect() as conn:
        left = conn.execute(select(ANSWERS.c.name)).scalars().all()
    assert apart not in left


class _WriterMeanwhile(Publication):
    """A publication during whose rendering another writer changes the record it renders."""

    def __init__(self, store: Store, contact: Contact) -> None:
        super().__init__(store.settings)
        self.store = store
        self.contact = contact
        self.rendered = 0

    def render(self, record: Any) -> dict[str, bytes] | None:
        packed = super().render(record)
        if self.rendered == 0:
            self.store.update_contact(
                "staff:test", self.contact.handle, self.contact.version, {"city": "Mainz"}
            )
        self.rendered += 1
        return packed


def test_a_domain_changed_while_rendering_is_not_stored(store: Store, two_domains: dict) -> None:
    publication = _WriterMeanwhile(store, two_domains["registrant"])
    first = two_domains["names"][0]
    assert publish_names(store, publication, [first]) == 0
    assert current(store, publication) == set()
    # The next pass renders the new data.
    assert publish_names(store, Publication(store.settings), [first]) == 1


def test_answers_of_other_settings_are_never_served(store: Store, two_domains: dict) -> None:
    publish(store, Publication(store.settings))
    other = store.settings.model_copy(update={"registrar": Registrar(name="Another Registrar Ltd")})
    renamed = Publication(other)
    assert renamed.key != Publication(store.settings).key
    lookup = whois_lookup(store, other, cache_bytes=0)
    try:
        body = lookup.answer(two_domains["names"][0]).body
        assert b"Another Registrar Ltd" in body
        assert lookup.stats["published"] == 0
    finally:
        lookup.close()
    assert publish(store, renamed).published == 3
    assert count_answers(store, renamed) == (3, 3)


def test_the_background_publisher_follows_the_store(store: Store, two_domains: dict) -> None:
    publication = Publication(store.settings)
    publisher = BackgroundPublisher(store, publication, interval=0.05)
    publisher.start()
    try:
        _wait_for(lambda: current(store, publication) == set(two_domains["names"]))
        added, _ = make_domain(store, "later-added.com")
        _wait_for(lambda: added.name in current(store, publication))
    finally:
        publisher.stop()


def test_workers_render_the_same_answers(sqlite_store: Store) -> None:
    for index in range(30):
        make_domain(sqlite_store, f"worker-{index}.com")
    publication = Publication(sqlite_store.settings)
    report = publish(sqlite_store, publication, workers=2, batch=7)
    assert report.published == 30
    with sqlite_store.engine.connect() as conn:
        by_workers = dict(conn.execute(select(ANSWERS.c.name, ANSWERS.c.whois)).all())
    with sqlite_store.engine.begin() as conn:
        conn.execute(ANSWERS.delete())
    publish(sqlite_store, publication)
    with sqlite_store.engine.connect() as conn:
        by_one = dict(conn.execute(select(ANSWERS.c.name, ANSWERS.c.whois)).all())
        assert conn.execute(select(func.count()).select_from(ANSWERS)).scalar() == 30
    assert {n: publication.unpack("whois", b) for n, b in by_workers.items()} == {
        n: publication.unpack("whois", b) for n, b in by_one.items()
    }


def _wait_for(condition: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the background publisher did not catch up"
        time.sleep(0.02)


def test_the_render_key_is_the_render_version_and_data_not_the_source(monkeypatch) -> None:
    """A comment edit in a renderer must not render a million answers again: the key is made of
    RENDER_VERSION, the packing, each TLD's publication and the registrar settings, not of
    module sources."""
    from publishers import published
    from publishers.policy import RegistrarView
    from publishers.profiles import Publications, RegistryRdds, TldPublication

    profile, registrar = Publications.single("icann-gtld"), RegistrarView.from_settings(Registrar())
    key = published.render_key(profile, registrar)

    def no_source(*_: Any) -> str:
        raise AssertionError("the render key read a module's source")

    monkeypatch.setattr(inspect, "getsource", no_source)
    assert published.render_key(profile, registrar) == key
    assert published.render_key(Publications.single("cctld-legal-persons"), registrar) != key
    se = Publications({"se": TldPublication("se", "cctld-legal-persons")})
    assert published.render_key(se, registrar) not in (
        key,
        published.render_key(profile, registrar),
    )
    registry = Publications({"se": TldPublication("se", None, RegistryRdds("whois.example.net"))})
    assert published.render_key(registry, registrar) != published.render_key(se, registrar)
    other = RegistrarView.from_settings(Registrar(name="Another Registrar Ltd"))
    assert published.render_key(profile, other) != key
    monkeypatch.setattr(published, "RENDER_VERSION", published.RENDER_VERSION + 1)
    assert published.render_key(profile, registrar) != key
