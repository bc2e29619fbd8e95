"""Search by the domain of an e-mail address (`@example.com`), on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from domains.errors import ValidationFailed
from domains.search import EMAIL_DOMAIN
from domains.store import Store
from tests.support.factories import account_data, contact_data

#: (domain, e-mail of its registrant, e-mail of its admin or None)
DOMAINS = [
    ("harbour-a.com", "ann@nordlicht-hosting.example.se", "noc@nordlicht-hosting.example.se"),
    ("harbour-b.com", "bob@nordlicht-hosting.example.se", None),
    ("harbour-c.com", "Cleo@Nordlicht-Hosting.Example.SE", "ann@nordlicht-hosting.example.se"),
    ("kite-a.com", "info@kite.example.org", None),
    ("kite-b.com", "noc@kite.example.org", "noc@nordlicht.example.net"),
    ("other.com", "nordlicht@example.com", None),
]


@pytest.fixture
def mail_store(store: Store) -> Store:
    """Six domains whose contacts are at a few mail domains; one contact in two roles."""
    account = store.create_account("staff:a", account_data())
    made: dict[str, str] = {}

    def contact(email: str) -> str:
        if email not in made:
            made[email] = store.create_contact("staff:a", contact_data(email=email)).handle
        return made[email]

    for name, registrant, admin in DOMAINS:
        roles = {"registrant": contact(registrant)}
        if admin:
            roles["admin"] = contact(admin)
        store.create_domain(
            "staff:a", {"name": name}, account_number=account.number, contacts=roles
        )
    # The same contact twice on one domain: registrant and admin.
    store.assign_contact("staff:a", "harbour-b.com", "admin", made[DOMAINS[1][1]])
    return store


def every_page(store: Store, query: str, limit: int = 2, **kwargs) -> list[tuple[str, str]]:
    """(domain, matched) of every hit, page after page."""
    found, cursor = [], None
    while True:
        page = store.search(query, cursor=cursor, limit=limit, **kwargs)
        found += [(hit.name, hit.matched) for hit in page.hits]
        if page.next_cursor is None:
            return found
        cursor = page.next_cursor


NORDLICHT_HOSTING = [
    # In the order of the addresses, then of the domains and roles.
    ("harbour-a.com", "email domain (registrant)"),  # ann@
    ("harbour-c.com", "email domain (admin)"),  # ann@ again
    ("harbour-b.com", "email domain (admin)"),  # bob@, in two roles
    ("harbour-b.com", "email domain (registrant)"),
    ("harbour-c.com", "email domain (registrant)"),  # cleo@
    ("harbour-a.com", "email domain (admin)"),  # noc@
]


@pytest.mark.parametrize(
    "query",
    [
        "@nordlicht-hosting.example.se",
        "email:@nordlicht-hosting.example.se",
        "EMAIL: @Nordlicht-Hosting.Example.SE",
        "@nordlicht-h",
    ],
)
def test_an_e_mail_domain_finds_every_contact_at_it(mail_store, query):
    for limit in (1, 2, 5, 50):
        assert every_page(mail_store, query, limit=limit) == NORDLICHT_HOSTING
    page = mail_store.search(query)
    assert page.kind == EMAIL_DOMAIN


def test_a_prefix_of_the_domain_part_spans_mail_domains(mail_store):
    # In byte order "nordlicht-hosting." comes before "nordlicht.".
    assert every_page(mail_store, "@nordlicht") == [
        *NORDLICHT_HOSTING,
        ("kite-b.com", "email domain (admin)"),
    ]
    assert every_page(mail_store, "@kite.example.org") == [
        ("kite-a.com", "email domain (registrant)"),
        ("kite-b.com", "email domain (registrant)"),
    ]
    assert every_page(mail_store, "@nowhere.example") == []
    # The bare @: every role of every domain (the house contact is each one's tech).
    roles = sum(len(mail_store.domain_record(name).contacts) for name, *_ in DOMAINS)
    assert len(every_page(mail_store, "@", limit=3)) == roles == 16


def test_the_local_part_is_not_searched_by_a_leading_at(mail_store):
    # "nordlicht@example.com" has nordlicht before its @, not after.
    assert "other.com" not in {name for name, _ in every_page(mail_store, "@nordlicht")}
    assert every_page(mail_store, "email:nordlicht@") == [("other.com", "email (registrant)")]


def test_the_full_address_and_an_address_prefix_still_work(mail_store):
    assert every_page(mail_store, "cleo@nordlicht-hosting.example.se") == [
        ("harbour-c.com", "email (registrant)")
    ]
    assert {name for name, _ in every_page(mail_store, "email:noc")} == {
        "harbour-a.com",
        "kite-b.com",
    }


def test_a_cursor_of_another_mail_domain_is_refused(mail_store):
    page = mail_store.search("@nordlicht-hosting", limit=2)
    assert page.next_cursor
    with pytest.raises(ValidationFailed, match="cursor"):
        mail_store.search("@kite", cursor=page.next_cursor, limit=2)
    with pytest.raises(ValidationFailed, match="cursor"):
        mail_store.search("@kite", cursor='["email domain", "kite", "a", "x", "1", "tech"]')


def statements(store: Store, call) -> list[tuple[str, object]]:
    """The SQL statements (with their parameters) that `call()` sends to the database."""
    seen: list[tuple[str, object]] = []

    def listen(_conn, _cursor, statement, parameters, _context, _many) -> None:
        seen.append((statement, parameters))

    event.listen(store.engine, "before_cursor_execute", listen)
    try:
        call()
    finally:
        event.remove(store.engine, "before_cursor_execute", listen)
    return [(sql, params) for sql, params in seen if "FROM contact" in sql]


def plan(store: Store, sql: str, params: object) -> str:
    """The database's plan for a statement, with sequential scans ruled out on PostgreSQL: an
    index whose expression does not match the query's cannot be used even then."""
    with store.engine.connect() as connection:
        if store.is_sqlite:
            rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params).all()
            return "\n".join(str(row[-1]) for row in rows)
        connection.exec_driver_sql("SET enable_seqscan = off")
        rows = connection.exec_driver_sql(f"EXPLAIN {sql}", params).all()
        return "\n".join(str(row[0]) for row in rows)


def test_a_domain_part_search_reads_the_index_not_every_contact(mail_store):
    queries = statements(mail_store, lambda: mail_store.search("@nordlicht", limit=5))
    first = mail_store.search("@nordlicht", limit=5)
    # The next page: the last row of the cursor's mail domain, then the mail domains after it.
    queries += statements(
        mail_store, lambda: mail_store.search("@nordlicht", cursor=first.next_cursor, limit=5)
    )
    assert len(queries) == 3
    for sql, params in queries:
        shown = plan(mail_store, sql, params)
        assert "ix_contact_email_domain" in shown, shown
        assert "SCAN contact" not in shown and "Seq Scan on contact" not in shown, shown
