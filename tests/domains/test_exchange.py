"""Import and export of the JSON exchange format, on SQLite and PostgreSQL, and the CLI commands."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import DateTime, func, select
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.types import JSON
from typer.testing import CliRunner

from domains.departures import mark_gone
from domains.errors import InterlinkError
from domains.exchange import (
    SECTIONS,
    ImportFileError,
    ImportOptions,
    export_records,
    import_records,
)
from domains.exchange.codec import codec_for, json_texts, sqlite_when
from domains.exchange.format import COLUMNS, DRAWN_BY_STORE
from domains.exchange.reader import loads
from domains.models import (
    Account,
    AuditEvent,
    Contact,
    Domain,
    DomainContact,
    DsRecord,
    OutboxEntry,
)
from domains.settings import Settings, get_settings
from domains.staff import Refused
from domains.store import Store
from domains.vocabulary import AccessPurpose, StaffRole
from tests.support.factories import account_data, contact_data
from tests.support.postgres import postgres_database
from tests.support.staff import add_me, seed_staff

ACTOR = "staff:test"
MODELS = (Account, Contact, Domain, DomainContact, DsRecord, AuditEvent)
#: Small files take the path of large ones: checked by worker processes, written meanwhile.
PARALLEL = ImportOptions(parallel_min_bytes=0)


# -- helpers -------------------------------------------------------------------------------------


def counts(store: Store) -> dict[str, int]:
    with store.read() as session:
        return {
            model.__name__: session.execute(select(func.count()).select_from(model)).scalar_one()
            for model in MODELS
        }


def account_record(n: int, **overrides: Any) -> dict[str, Any]:
    record = {
        "number": f"A-{5000 + n}",
        "name": f"Customer {n}",
        "email": f"customer{n}@example.com",
        "phone": "+44.1174960123",
        "street": ["1 Test Street"],
        "city": "Bristol",
        "state": None,
        "postal_code": "BS1 1AA",
        "country": "GB",
        "status": "active",
        "marketing_opt_out_at": None,
        "marketing_opt_out_via": None,
        "created_at": "2020-02-03T04:05:06Z",
    }
    record.update(overrides)
    return record


def contact_record(n: int, account: str | None, **overrides: Any) -> dict[str, Any]:
    record = {
        "handle": f"ILC{700 + n}",
        "kind": "person",
        "name": f"Person {n}",
        "org": None,
        "street": ["Hauptstrasse 5"],
        "city": "Berlin",
        "state": "Berlin",
        "postal_code": "10115",
        "country": "DE",
        "voice": "+49.30901820",
        "voice_ext": None,
        "fax": None,
        "fax_ext": None,
        "email": f"person{n}@example.org",
        "consent_fields": [],
        "consent_at": None,
        "consent_method": None,
        "account": account,
        "house": False,
    }
    record.update(overrides)
    return record


def domain_record(n: int, account: str, registrant: str, **overrides: Any) -> dict[str, Any]:
    record = {
        "name": f"domain{n}.com",
        "account": account,
        "roid": f"D{9000 + n}-COM",
        "statuses": ["ok"],
        "nameservers": ["ns1.interlink.example.net", "ns2.interlink.example.net"],
        "dnssec": False,
        "created_at": "2021-01-01T00:00:00Z",
        "expires_at": "2027-01-01T00:00:00Z",
        "updated_at": "2024-06-01T10:00:00Z",
        "contacts": {"registrant": registrant, "tech": "IL-HOUSE"},
    }
    record.update(overrides)
    return record


def ds_entry(key_tag: int, *, digest_type: int = 2, **overrides: Any) -> dict[str, Any]:
    """A DS record of the exchange format (ECDSA P-256, a digest of the type's length)."""
    length = {1: 40, 2: 64, 4: 96}[digest_type]
    record = {
        "key_tag": key_tag,
        "algorithm": 13,
        "digest_type": digest_type,
        "digest": f"{key_tag:04X}".ljust(length, "A"),
    }
    record.update(overrides)
    return record


def export_file(
    n_domains: int = 40, *, accounts: int = 4
) -> tuple[dict[str, Any], list[dict], list[dict], list[dict]]:
    """A valid export: `accounts` accounts, one registrant per domain, tech = the house contact."""
    acc = [account_record(i) for i in range(accounts)]
    con = [contact_record(i, acc[i % accounts]["number"]) for i in range(n_domains)]
    dom = [
        domain_record(i, acc[i % accounts]["number"], con[i]["handle"]) for i in range(n_domains)
    ]
    data = {
        "format": "interlink-export",
        "version": 1,
        "exported_at": "2026-01-01T00:00:00Z",
        "accounts": acc,
        "contacts": con,
        "domains": dom,
    }
    return data, acc, con, dom


def write(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


def write_lines(path: Path, data: dict[str, Any]) -> Path:
    """The layout export_records writes: the header, then one record per line."""
    head = {k: v for k, v in data.items() if k not in SECTIONS}
    text = json.dumps(head)[:-1]
    for section in SECTIONS:
        records = ",\n".join(json.dumps(r, ensure_ascii=False) for r in data.get(section, []))
        text += f',\n"{section}": [\n{records}\n]'
    path.write_text(text + "}\n", encoding="utf-8")
    return path


@pytest.fixture
def second_store(database_url: str, tmp_path: Path) -> Iterator[Store]:
    """Another empty store on the same backend as `store`."""
    if database_url.startswith("sqlite"):
        urls: Iterator[str] = iter([f"sqlite:///{tmp_path / 'second.db'}"])
    else:
        urls = postgres_database()
    url = next(urls)
    opened = Store.open(settings=Settings(database_url=url, data_dir=tmp_path / "second"))
    seed_staff(opened)
    try:
        yield opened
    finally:
        opened.close()
        for _ in urls:  # drops the PostgreSQL database
            pass


def rows(store: Store) -> dict[str, list[dict[str, Any]]]:
    """Every record, keyed the way the exchange format keys it (no ids), for comparison."""
    with store.read() as session:
        numbers = dict(session.execute(select(Account.id, Account.number)).all())
        handles = dict(session.execute(select(Contact.id, Contact.handle)).all())
        names = dict(session.execute(select(Domain.id, Domain.name)).all())
        accounts = [
            {
                **a.model_dump(exclude={"id", "updated_at", "version"}),
            }
            for a in session.execute(select(Account).order_by(Account.number)).scalars()
        ]
        contacts = [
            {
                **c.model_dump(exclude={"id", "updated_at", "version", "account_id"}),
                "account": numbers.get(c.account_id),
            }
            for c in session.execute(select(Contact).order_by(Contact.handle)).scalars()
        ]
        domains = [
            {
                **d.model_dump(exclude={"id", "version", "account_id"}),
                "account": numbers[d.account_id],
            }
            for d in session.execute(select(Domain).order_by(Domain.name)).scalars()
        ]
        roles = sorted(
            (names[link.domain_id], link.role, handles[link.contact_id])
            for link in session.execute(select(DomainContact)).scalars()
        )
        ds = sorted(
            (names[r.domain_id], r.key_tag, r.algorithm, r.digest_type, r.digest)
            for r in session.execute(select(DsRecord)).scalars()
        )
    for contact in contacts:
        if contact["is_house"]:
            contact.pop("created_at")  # each store makes its own house contact from settings
    return {
        "accounts": accounts,
        "contacts": contacts,
        "domains": domains,
        "roles": roles,
        "ds": ds,
    }


def fill(store: Store) -> None:
    """A varied store: IDN, consent, organisations, fax, all four roles, the house contact."""
    first = store.create_account(ACTOR, account_data(number="A-200001"))
    second = store.create_account(ACTOR, account_data(number="A-200002", country="DE"))
    store.update_account(
        ACTOR,
        second.number,
        second.version,
        {
            "marketing_opt_out_at": "2025-03-04T05:06:07.123456+01:00",
            "marketing_opt_out_via": "portal",
        },
    )
    anna = store.create_contact(
        ACTOR,
        {
            **contact_data(
                name="Anna Müller",
                consent_fields=["name", "email"],
                consent_method="portal",
                consent_at="2025-01-02T03:04:05Z",
            ),
            "ascii_postal": {"name": "Anna Mueller"},  # the registries' int form, as given
        },
        account_number=first.number,
    )
    company = store.create_contact(
        ACTOR,
        contact_data(
            kind="organization",
            org="Zürcher Bücher AG",
            name="Hostmaster",
            street=["Bahnhofstrasse 1", "Postfach", "3. Stock"],
            city="Zürich",
            state=None,
            postal_code="8001",
            country="CH",
            voice="+41 44 668 18 00",
            voice_ext="12",
            fax="+41 44 668 18 01",
        ),
        account_number=second.number,
    )
    loose = store.create_contact(ACTOR, contact_data(name="Without Account"))
    store.create_domain(
        ACTOR,
        {
            "name": "bücher.de",
            "statuses": ["clientTransferProhibited", "clientDeleteProhibited"],
            "nameservers": ["ns1.interlink.example.net", "ns2.interlink.example.net"],
            "dnssec": True,
            "roid": "D123-DENIC",
            "expires_at": "2030-05-06T07:08:09Z",
        },
        account_number=first.number,
        contacts={"registrant": anna.handle},
    )
    store.create_domain(
        ACTOR,
        {"name": "shop.co.uk"},
        account_number=second.number,
        contacts={
            "registrant": company.handle,
            "tech": company.handle,
            "admin": anna.handle,
            "billing": loose.handle,
        },
    )


# -- round trip ----------------------------------------------------------------------------------


def test_export_then_import_into_an_empty_store_gives_the_same_records(
    store, second_store, tmp_path
):
    fill(store)
    path = tmp_path / "export.json"
    exported = export_records(store, path, actor=ACTOR)
    assert exported == {"accounts": 2, "contacts": 4, "domains": 2}

    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["format"] == "interlink-export" and data["version"] == 2
    assert data["exported_at"].endswith("Z")
    idn = next(d for d in data["domains"] if d["name"] == "bücher.de")
    assert idn["contacts"] == {"registrant": "ILC2", "tech": "IL-HOUSE"}
    assert idn["expires_at"] == "2030-05-06T07:08:09Z"
    house = next(c for c in data["contacts"] if c["house"])
    assert house["handle"] == "IL-HOUSE" and house["account"] is None
    opted = next(a for a in data["accounts"] if a["number"] == "A-200002")
    assert opted["marketing_opt_out_at"] == "2025-03-04T04:06:07.123456Z"

    report = import_records(second_store, path, actor=ACTOR)
    assert report.ok, report.problems
    assert report.written
    assert (report.accounts, report.contacts, report.domains, report.roles) == (2, 3, 2, 6)
    assert report.house_mapped == 1
    assert rows(second_store) == rows(store)

    # The import keeps handles derived from ids: the next contact gets a fresh handle and id,
    # and on PostgreSQL the sequences moved past the imported ids.
    fresh = second_store.create_contact(ACTOR, contact_data())
    assert fresh.handle == f"ILC{fresh.id}"
    assert fresh.id > max(c.id for c in [second_store.get_contact("ILC4")])
    second_store.create_account(ACTOR, account_data())
    second_store.create_domain(
        ACTOR,
        {"name": "after-import.com"},
        account_number="A-200001",
        contacts={"registrant": fresh.handle},
    )

    again = tmp_path / "again.json"
    export_records(second_store, again, actor=ACTOR)
    first, second = json.loads(path.read_text()), json.loads(again.read_text())
    second["domains"] = [d for d in second["domains"] if d["name"] != "after-import.com"]
    second["contacts"] = [c for c in second["contacts"] if c["handle"] != fresh.handle]
    second["accounts"] = second["accounts"][:2]
    for doc in (first, second):
        doc.pop("exported_at")
        next(c for c in doc["contacts"] if c["house"]).pop("created_at")
    assert first == second


def test_one_audit_event_names_the_import(store, tmp_path):
    data, *_ = export_file(5)
    before = counts(store)
    report = import_records(store, write(tmp_path / "five.json", data), actor=ACTOR)
    assert report.ok and report.written
    after = counts(store)
    assert after["AuditEvent"] == before["AuditEvent"] + 1
    with store.read() as session:
        event = session.execute(select(AuditEvent).order_by(AuditEvent.id.desc())).scalar()
    assert (event.action, event.entity_type, event.entity_id, event.actor) == (
        "store.import",
        "store",
        "five.json",
        ACTOR,
    )
    assert event.changes["file"] == "five.json"
    assert event.changes["domains"] == 5 and event.changes["contacts"] == 5
    assert after["Domain"] == before["Domain"] + 5
    assert "imported 4 accounts, 5 contacts, 5 domains" in report.summary()


def test_the_house_contact_of_the_file_maps_to_the_store_house_contact(store, tmp_path):
    data, _acc, con, dom = export_file(2)
    con.append(
        contact_record(99, None, handle="OLD-HOUSE", kind="organization", org="Us Ltd", house=True)
    )
    dom[0]["contacts"]["tech"] = "OLD-HOUSE"
    report = import_records(store, write(tmp_path / "house.json", data), actor=ACTOR)
    assert report.ok, report.problems
    assert report.contacts == 2 and report.house_mapped == 1
    record = store.domain_record(dom[0]["name"])
    assert record.contact("tech").is_house
    assert record.contact("tech").handle == "IL-HOUSE"
    with store.read() as session:
        houses = session.execute(
            select(func.count()).select_from(Contact).where(Contact.is_house.is_(True))
        ).scalar_one()
    assert houses == 1


# -- all or nothing ------------------------------------------------------------------------------


def test_a_bad_domain_record_37_changes_nothing_and_is_named(store, tmp_path):
    data, _acc, _con, dom = export_file(40)
    dom[37]["contacts"]["registrant"] = "ILC99999"
    before = counts(store)
    report = import_records(store, write(tmp_path / "bad37.json", data), actor=ACTOR)
    assert counts(store) == before
    assert not report.written
    assert report.problems == [
        "domains[37] (domain37.com): contacts.registrant: no contact 'ILC99999'"
    ]
    assert report.rejected == {"accounts": 0, "contacts": 0, "domains": 1}
    assert "nothing imported" in report.summary()


def test_every_bad_record_is_reported_at_once(store, tmp_path):
    data, acc, con, dom = export_file(20)
    acc[1]["email"] = "not-an-address"
    con[12]["voice"] = "+44 1"
    con[13]["handle"] = con[14]["handle"]
    con[15]["phone"] = "+44.1174960123"  # not a field of a contact
    dom[3]["name"] = "exa mple.com"
    dom[5]["account"] = "A-777777"
    dom[6]["name"] = dom[7]["name"]
    dom[8]["statuses"] = ["frozen"]
    dom[9]["dnssec"] = "yes"
    dom[10]["contacts"] = {"owner": con[10]["handle"]}
    dom[11]["expires_at"] = "2020-01-01T00:00:00Z"
    dom[12]["contacts"]["registrant"] = con[12]["handle"]
    dom.append(["not", "an", "object"])
    before = counts(store)
    report = import_records(store, write(tmp_path / "many.json", data), actor=ACTOR)
    assert counts(store) == before and not report.written
    text = "\n".join(report.problems)
    expected = [
        "accounts[1] (A-5001): email: 'not-an-address' is not a valid e-mail address",
        "contacts[12] (ILC712): voice: '+44 1' is not a",
        "contacts[13] (ILC714): handle: ILC714 appears 2 times in the file "
        "(contacts[13], contacts[14])",
        "contacts[14] (ILC714): handle: ILC714 appears 2 times in the file "
        "(contacts[13], contacts[14])",
        "contacts[15] (ILC715): phone: is not a field of this record",
        "domains[3] (exa mple.com): name: 'exa mple.com' contains a space",
        "domains[5] (domain5.com): account: no account 'A-777777'",
        "domains[6] (domain7.com): name: domain7.com appears 2 times in the file "
        "(domains[6], domains[7])",
        "domains[7] (domain7.com): name: domain7.com appears 2 times in the file "
        "(domains[6], domains[7])",
        "domains[8] (domain8.com): statuses: frozen is not an EPP domain status",
        "domains[9] (domain9.com): dnssec: must be true or false",
        "domains[10] (domain10.com): contacts.owner: is not a role",
        "domains[10] (domain10.com): contacts.registrant: a domain needs a registrant",
        "domains[11] (domain11.com): expires_at: must be after the creation date",
        "domains[12] (domain12.com): contacts.registrant: contact 'ILC712' was rejected "
        "(contacts[12])",
        "domains[13] (domain13.com): contacts.registrant: no contact 'ILC713'",
        "domains[14] (domain14.com): contacts.registrant: contact 'ILC714' was rejected "
        "(contacts[13])",
        "domains[20]: is a list, not a JSON object",
    ]
    for line in expected:
        assert line in text, line
    # Accounts 1's contacts and domains are rejected with it.
    assert "contacts[1] (ILC701): account: account 'A-5001' was rejected (accounts[1])" in text
    assert report.rejected["domains"] >= 12


def test_duplicates_against_the_store_are_refused(store, tmp_path):
    data, *_ = export_file(3)
    path = write(tmp_path / "twice.json", data)
    assert import_records(store, path, actor=ACTOR).written
    before = counts(store)
    report = import_records(store, path, actor=ACTOR)
    assert counts(store) == before and not report.written
    text = "\n".join(report.problems)
    assert "accounts[0] (A-5000): number: A-5000 already exists" in text
    assert "contacts[0] (ILC700): handle: ILC700 already exists in the store" in text
    assert "domains[2] (domain2.com): name: domain2.com already exists in the store" in text


def test_references_into_the_store_are_resolved(store, tmp_path):
    account = store.create_account(ACTOR, account_data())
    owner = store.create_contact(ACTOR, contact_data(), account_number=account.number)
    data = {
        "format": "interlink-export",
        "version": 1,
        "contacts": [contact_record(1, account.number, handle=None)],
        "domains": [domain_record(1, account.number, owner.handle)],
    }
    report = import_records(store, write(tmp_path / "refs.json", data), actor=ACTOR)
    assert report.ok, report.problems
    record = store.domain_record("domain1.com")
    assert record.contact("registrant").handle == owner.handle
    assert record.account.number == account.number
    with store.read() as session:
        made = session.execute(
            select(Contact).where(Contact.email == "person1@example.org")
        ).scalar()
    assert made.handle == f"ILC{made.id}"  # no handle in the file: one derived from the id


def test_skip_invalid_imports_the_good_records_and_writes_the_rejects(store, tmp_path):
    data, _acc, con, dom = export_file(10)
    con[4]["voice"] = "+44 1"
    dom[7]["name"] = "-bad-.com"
    rejects = tmp_path / "rejects.json"
    before = counts(store)
    report = import_records(
        store,
        write(tmp_path / "some.json", data),
        actor=ACTOR,
        skip_invalid=True,
        rejects_path=rejects,
    )
    assert report.written
    assert (report.contacts, report.domains) == (9, 8)
    assert report.rejected == {"accounts": 0, "contacts": 1, "domains": 2}
    after = counts(store)
    assert after["Domain"] == before["Domain"] + 8
    assert "rejected 1 contacts, 2 domains" in report.summary()
    saved = json.loads(rejects.read_text(encoding="utf-8"))
    assert saved["format"] == "interlink-rejects" and saved["source"] == "some.json"
    assert [r["index"] for r in saved["contacts"]] == [4]
    assert saved["contacts"][0]["record"] == con[4]
    assert saved["contacts"][0]["reasons"][0].startswith("voice: '+44 1' is not a")
    by_index = {r["index"]: r for r in saved["domains"]}
    assert set(by_index) == {4, 7}
    assert by_index[4]["reasons"] == [
        "contacts.registrant: contact 'ILC704' was rejected (contacts[4])"
    ]
    assert by_index[7]["record"]["name"] == "-bad-.com"
    with pytest.raises(Exception):  # noqa: B017 - the rejected domain is not there
        store.get_domain("domain4.com")


@pytest.mark.parametrize("layout", [write_lines, write])
def test_large_files_are_checked_by_worker_processes_in_order(sqlite_store, tmp_path, layout):
    options = ImportOptions(parallel_min_bytes=0, check_batch=7)
    data, _acc, con, dom = export_file(60)
    con[23]["email"] = "broken@"
    dom[37]["contacts"]["registrant"] = "ILC99999"
    path = layout(tmp_path / "parallel.json", data)
    before = counts(sqlite_store)
    report = import_records(sqlite_store, path, actor=ACTOR, options=options)
    assert counts(sqlite_store) == before
    assert report.problems[0].startswith("contacts[23] (ILC723): email: 'broken@'")
    assert (
        "domains[23] (domain23.com): contacts.registrant: contact 'ILC723' was rejected"
        in (report.problems[1])
    )
    assert (
        report.problems[2]
        == "domains[37] (domain37.com): contacts.registrant: no contact 'ILC99999'"
    )
    con[23]["email"] = "fixed@example.org"
    dom[37]["contacts"]["registrant"] = con[37]["handle"]
    report = import_records(sqlite_store, layout(path, data), actor=ACTOR, options=options)
    assert report.ok and report.domains == 60
    assert sqlite_store.get_contact("ILC723").email == "fixed@example.org"


def varied_file(tmp_path: Path, store_account: str, store_contact: str) -> Path:
    """Every kind of id and reference the load handles, in the export layout."""
    data, _acc, con, dom = export_file(30)
    con[3]["handle"] = None  # gets ILC<its id>
    con[4]["handle"] = "FOREIGN-4"  # not ours: an id after the claimed ones
    con[5]["handle"] = "ILC1"  # ours, but that id is taken: an id after the claimed ones
    con[6]["account"] = store_account
    con.insert(
        0,
        contact_record(
            99, None, handle="THEIR-HOUSE", kind="organization", org="Them Ltd", house=True
        ),
    )
    dom[3]["contacts"]["registrant"] = store_contact
    dom[4]["contacts"]["registrant"] = "FOREIGN-4"
    dom[5]["contacts"]["registrant"] = "ILC1"
    dom[6]["contacts"] = {"registrant": con[7]["handle"]}  # tech: the house contact
    dom[7]["contacts"]["tech"] = "THEIR-HOUSE"
    dom[8]["account"] = store_account
    dom[9]["contacts"]["admin"] = con[10]["handle"]
    dom[10].update(dnssec=True, ds=[ds_entry(2371), ds_entry(4242, digest_type=4)])
    dom[11].update(dnssec=True, ds=[ds_entry(7)])
    dom[12]["gone_at"] = "2026-11-30T08:00:00Z"
    return write_lines(tmp_path / "varied.json", data)


def ids_and_rows(store: Store) -> tuple[dict, dict]:
    with store.read() as session:
        ids = {
            "accounts": dict(session.execute(select(Account.number, Account.id)).all()),
            "contacts": dict(session.execute(select(Contact.handle, Contact.id)).all()),
            "domains": dict(session.execute(select(Domain.name, Domain.id)).all()),
        }
    found = rows(store)
    for record in (*found["accounts"], *found["contacts"]):
        record.pop("created_at", None)  # made now: the records of the store, contacts of the file
    return ids, found


def test_writing_while_checking_gives_the_same_store_as_checking_first(
    store, second_store, tmp_path
):
    for target in (store, second_store):
        account = target.create_account(
            ACTOR, account_data(number="A-300000", name="Old", email="old@example.com")
        )
        target.create_contact(
            ACTOR,
            contact_data(name="Already Here", email="here@example.org"),
            account_number="A-300000",
        )
    path = varied_file(tmp_path, account.number, "ILC2")

    streamed = import_records(store, path, actor=ACTOR, options=PARALLEL)
    assert "write (after the check)" in streamed.timings  # it did write while checking
    stepwise = import_records(
        second_store,
        path,
        actor=ACTOR,
        options=ImportOptions(parallel_min_bytes=0, streaming=False),
    )
    assert "resolve" in stepwise.timings

    assert streamed.ok and stepwise.ok, (streamed.problems, stepwise.problems)
    assert (
        streamed.counts()
        == stepwise.counts()
        == {"accounts": 4, "contacts": 30, "domains": 30, "roles": 61, "ds": 3}
    )
    assert streamed.house_mapped == stepwise.house_mapped == 1
    assert ids_and_rows(store) == ids_and_rows(second_store)
    ids, _ = ids_and_rows(store)
    assert ids["contacts"]["ILC702"] == 702 and ids["contacts"]["ILC729"] == 729
    assert ids["contacts"]["ILC730"] == 730  # the contact without a handle, after ILC729
    assert ids["contacts"]["FOREIGN-4"] == 731 and ids["contacts"]["ILC1"] == 732
    assert "THEIR-HOUSE" not in ids["contacts"]
    assert store.domain_record("domain7.com").contact("tech").is_house
    fresh = store.create_contact(ACTOR, contact_data())
    assert fresh.handle == f"ILC{fresh.id}" and fresh.id > 732


def test_writing_while_checking_steps_back_when_a_record_is_bad(store, tmp_path):
    data, _acc, _con, dom = export_file(30)
    dom[29]["name"] = dom[2]["name"]  # found only at the very end
    path = write_lines(tmp_path / "late.json", data)
    before = counts(store)
    report = import_records(store, path, actor=ACTOR, options=PARALLEL)
    assert counts(store) == before and not report.written
    assert report.problems == [
        "domains[2] (domain2.com): name: domain2.com appears 2 times in the file "
        "(domains[2], domains[29])",
        "domains[29] (domain2.com): name: domain2.com appears 2 times in the file "
        "(domains[2], domains[29])",
    ]
    # The write lock is free again, and skip-invalid writes the good ones.
    store.create_account(ACTOR, account_data())
    report = import_records(store, path, actor=ACTOR, skip_invalid=True, options=PARALLEL)
    assert report.written and report.domains == 28 and report.contacts == 30


def test_a_syntax_error_in_a_record_line_is_found_by_the_parallel_reading_too(
    sqlite_store, tmp_path
):
    data, *_ = export_file(30)
    path = write_lines(tmp_path / "lines.json", data)
    lines = path.read_text().split("\n")
    number = next(i for i, line in enumerate(lines) if '"domain17.com"' in line)
    lines[number] = lines[number].replace('"dnssec": false', '"dnssec": fals')
    path.write_text("\n".join(lines))
    message = refused(sqlite_store, path, PARALLEL)
    assert f"not valid JSON at line {number + 1}, column " in message
    sqlite_store.create_account(ACTOR, account_data())  # nothing holds the write lock


def test_two_records_on_one_line_are_read_record_by_record(sqlite_store, tmp_path):
    data, *_ = export_file(12)
    path = write_lines(tmp_path / "pairs.json", data)
    text = path.read_text()
    paired = text.replace('},\n{"handle"', '}, {"handle"')
    assert paired.count("\n") < text.count("\n") - 5
    path.write_text(paired)
    report = import_records(sqlite_store, path, actor=ACTOR, options=PARALLEL)
    assert report.ok, report.problems
    assert (report.contacts, report.domains) == (12, 12)


def test_a_big_import_rebuilds_the_indexes_it_deferred(sqlite_store, tmp_path):
    options = ImportOptions(defer_indexes_min_rows=10)
    data, *_ = export_file(30)

    def indexes() -> list[tuple[str, str]]:
        with sqlite_store.engine.connect() as conn:
            return sorted(
                conn.exec_driver_sql(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'index'"
                ).all()
            )

    before = indexes()
    report = import_records(
        sqlite_store, write(tmp_path / "idx.json", data), actor=ACTOR, options=options
    )
    assert report.ok and report.written
    assert indexes() == before
    assert sqlite_store.search("domain2", kind="domain").hits[0].name.startswith("domain2")
    assert sqlite_store.search("person3@", kind="email").hits


# -- file-level problems -------------------------------------------------------------------------


def refused(store: Store, path: Path, options: ImportOptions | None = None) -> str:
    before = counts(store)
    with pytest.raises(InterlinkError) as info:
        import_records(store, path, actor=ACTOR, options=options or ImportOptions())
    assert counts(store) == before
    message = str(info.value)
    assert "Traceback" not in message and "\n" not in message
    return message


def test_malformed_json_is_refused_with_line_and_column(sqlite_store, tmp_path):
    path = tmp_path / "broken.json"
    path.write_text(
        '{"format": "interlink-export", "version": 1,\n'
        '"accounts": [\n'
        '  {"number": "A-1001", "name": "x",}\n'
        "]}\n"
    )
    message = refused(sqlite_store, path)
    assert message.startswith("broken.json: not valid JSON at line 3, column 36")
    assert "double quotes" in message

    path.write_text('{"format": "interlink-export", "version": 1, "domains": [{"name": "a.com"')
    assert "not valid JSON at line 1" in refused(sqlite_store, path)

    path.write_text('{"format": "interlink-export"} trailing')
    assert "extra data" in refused(sqlite_store, path)

    path.write_bytes(b'{"format": "interlink-export", "domains": ["\xff"]}')
    assert "not UTF-8" in refused(sqlite_store, path)

    path.write_text("")
    assert "is empty" in refused(sqlite_store, path)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("[1, 2]", "expected a JSON object"),
        ('"hello"', "found a string"),
        ('{"format": "something-else", "version": 1}', "is not an Interlink export"),
        ('{"version": 1, "domains": []}', 'it has no "format"'),
        ('{"format": "interlink-export", "version": 3}', "version 3 of the export format"),
        ('{"format": "interlink-export", "version": true}', "version True of the export"),
        ('{"format": "interlink-export", "domains": {"a.com": {}}}', "'domains' must be a list"),
        ('{"format": "interlink-export", "domain": []}', "unknown top-level key 'domain'"),
        ('{"format": "interlink-export", "domains": [], "domains": []}', "appears twice"),
    ],
)
def test_a_file_of_the_wrong_shape_gets_one_clear_message(sqlite_store, tmp_path, content, reason):
    path = tmp_path / "shape.json"
    path.write_text(content)
    assert reason in refused(sqlite_store, path)


def test_a_missing_file_is_one_clear_message(sqlite_store, tmp_path):
    assert "does not exist" in refused(sqlite_store, tmp_path / "nope.json")


def test_a_store_locked_by_another_writer_is_one_clear_message(tmp_path):
    database = tmp_path / "busy.db"
    settings = Settings(
        database_url=f"sqlite:///{database}", data_dir=tmp_path / "b", sqlite_busy_timeout_ms=100
    )
    busy = Store.open(settings=settings)
    seed_staff(busy)
    data, *_ = export_file(3)
    path = write(tmp_path / "three.json", data)
    other = sqlite3.connect(database, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        message = refused(busy, path)
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert message.startswith("the store could not be written (database is locked)")
    assert import_records(busy, path, actor=ACTOR).written
    busy.close()


def test_the_reader_copes_with_any_layout_and_chunk_boundaries(sqlite_store, tmp_path):
    data, *_ = export_file(6)
    data["version"] = 1
    path = tmp_path / "tiny-chunks.json"
    path.write_text(json.dumps(data, indent=3), encoding="utf-8")
    report = import_records(sqlite_store, path, actor=ACTOR, options=ImportOptions(read_chunk=7))
    assert report.ok and report.domains == 6


def test_the_import_writes_every_column_of_the_tables_once():
    tables = {m.__table__.name: m.__table__ for m in MODELS}
    assert set(COLUMNS) == {"account", "contact", "domain", "domain_contact", "ds_record"}
    for name, columns in COLUMNS.items():
        drawn = DRAWN_BY_STORE.get(name, ())
        assert sorted((*columns, *drawn)) == sorted(c.name for c in tables[name].columns), name
    assert DRAWN_BY_STORE == {"ds_record": ("id",)}  # DS ids come from the table's sequence


# -- DS records and departures (format version 2) ------------------------------------------------

SIGNED = "bücher.de"
DS_TEXTS = [f"2371 13 2 {'1F98' * 16}", f"40000 15 4 {'ab12' * 24}"]
GONE_AT = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


def outbox(store: Store) -> int:
    with store.read() as session:
        return session.execute(select(func.count()).select_from(OutboxEntry)).scalar_one()


def test_ds_records_and_a_departure_survive_a_round_trip(store, second_store, tmp_path):
    fill(store)
    store.import_ds(ACTOR, SIGNED, DS_TEXTS)
    mark_gone(store, "shop.co.uk", actor=ACTOR, at=GONE_AT, gaining="9999")
    path = tmp_path / "export.json"
    export_records(store, path, actor=ACTOR)

    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["version"] == 2
    signed = next(d for d in data["domains"] if d["name"] == SIGNED)
    gone = next(d for d in data["domains"] if d["name"] == "shop.co.uk")
    assert signed["dnssec"] is True and signed["gone_at"] is None
    assert signed["ds"] == [
        {"key_tag": 2371, "algorithm": 13, "digest_type": 2, "digest": "1F98" * 16},
        {"key_tag": 40000, "algorithm": 15, "digest_type": 4, "digest": "AB12" * 24},
    ]
    assert gone["gone_at"] == "2026-11-30T08:00:00Z" and gone["ds"] == []
    anna = next(c for c in data["contacts"] if c["name"] == "Anna Müller")
    assert anna["ascii_postal"] == {"name": "Anna Mueller"}

    queued = outbox(second_store)
    report = import_records(second_store, path, actor=ACTOR)
    assert report.ok and report.written, report.problems
    assert report.ds == 2 and "2 DS records" in report.summary()
    assert outbox(second_store) == queued  # an import is not a registry change
    assert rows(second_store) == rows(store)
    assert second_store.domain_record(SIGNED).ds == store.domain_record(SIGNED).ds
    with second_store.read() as session:
        kept = session.execute(select(Contact).where(Contact.name == "Anna Müller")).scalar_one()
        assert kept.ascii_postal == {"name": "Anna Mueller"}
    with second_store.read() as session:
        stored = session.execute(select(Domain).where(Domain.name == "shop.co.uk")).scalar_one()
        assert stored.gone_at is not None
        assert stored.gone_at.replace(tzinfo=stored.gone_at.tzinfo or UTC) == GONE_AT

    again = tmp_path / "again.json"
    export_records(second_store, again, actor=ACTOR)
    first, second = json.loads(path.read_text()), json.loads(again.read_text())
    for doc in (first, second):
        doc.pop("exported_at")
        next(c for c in doc["contacts"] if c["house"]).pop("created_at")
    assert first == second

    # A store that holds DS records already takes more (their ids come from the sequence).
    third = tmp_path / "third.json"
    data["accounts"], data["contacts"] = [], []
    data["domains"] = [{**signed, "name": "signed-too.de", "account": "A-200001"}]
    del data["domains"][0]["dnssec"]  # missing: a domain with DS records is signed
    write(third, data)
    assert import_records(second_store, third, actor=ACTOR).ds == 2
    assert len(second_store.domain_record("signed-too.de").ds) == 2
    assert second_store.domain_record("signed-too.de").domain.dnssec is True


def test_a_bad_ascii_form_is_refused_by_field_and_nothing_written(store, tmp_path):
    data, _acc, con, _dom = export_file(2)
    con[0]["ascii_postal"] = {"city": "Zürich"}
    con[1]["ascii_postal"] = ["not", "an", "object"]
    before = counts(store)
    report = import_records(store, write_lines(tmp_path / "bad.json", data), actor=ACTOR)
    assert not report.written and counts(store) == before
    first, second, *knock_on = report.problems
    assert first.startswith("contacts[0] (") and "ascii.city: must be printable ASCII" in first
    assert second.startswith("contacts[1] (") and "ascii" in second
    # ... and the domains that name those contacts are refused with them.
    assert all("was rejected (contacts[" in problem for problem in knock_on)


@pytest.mark.parametrize("options", [None, PARALLEL], ids=["stepwise", "parallel"])
def test_a_bad_ds_record_or_departure_is_refused_by_field_and_nothing_written(
    store, tmp_path, options
):
    data, _acc, _con, dom = export_file(8)
    for domain in dom:
        domain["dnssec"] = True
    dom[0].update(dnssec=False, ds=[ds_entry(1)])
    dom[1]["ds"] = [ds_entry(2), ds_entry(3, algorithm=1)]
    dom[2]["ds"] = [ds_entry(4, digest="ABC")]
    dom[3]["ds"] = {"key_tag": 5}
    dom[4]["ds"] = [ds_entry(6, colour="red"), "2371 13 2 ABCD", {"key_tag": 7}]
    dom[5]["ds"] = [ds_entry(8, digest_type=1, digest="A" * 40), ds_entry(8), ds_entry(8)]
    dom[6]["gone_at"] = "2026-11-30T08:00:00"
    dom[7]["gone_at"] = "last week"
    before = counts(store)
    queued = outbox(store)
    kwargs = {} if options is None else {"options": options}
    report = import_records(store, write_lines(tmp_path / "bad.json", data), actor=ACTOR, **kwargs)
    assert not report.written
    assert counts(store) == before and outbox(store) == queued
    sha256 = "a SHA-256 digest (type 2) has 64"
    assert report.problems == [
        "domains[0] (domain0.com): dnssec: is false, but the domain has DS records: "
        "a signed domain is true",
        "domains[1] (domain1.com): ds[1].algorithm: 1 (RSAMD5) must not be used to sign zones "
        "any more (IANA, RFC 9904); sign the zone with a current algorithm such as "
        "13 (ECDSAP256SHA256) or 15 (ED25519) and give that key's DS",
        f"domains[2] (domain2.com): ds[0].digest: has 3 hexadecimal digits; {sha256}",
        "domains[3] (domain3.com): ds: must be a list of DS records (objects), not an object",
        "domains[4] (domain4.com): ds[0].colour: is not a field of a DS record",
        "domains[4] (domain4.com): ds[1]: is a string, not a DS record: an object of "
        "key_tag, algorithm, digest_type, digest",
        "domains[4] (domain4.com): ds[2].algorithm: is required",
        "domains[4] (domain4.com): ds[2].digest_type: is required",
        "domains[4] (domain4.com): ds[2].digest: is required",
        "domains[5] (domain5.com): ds[0].digest_type: 1 (SHA-1) must not be used for a "
        "delegation (IANA, RFC 9904); make the DS of the same key with digest type 2 (SHA-256)",
        f"domains[5] (domain5.com): ds[2]: 8 13 2 {'0008'.ljust(64, 'A')} is given twice",
        "domains[6] (domain6.com): gone_at: has no timezone; give it in UTC, "
        "e.g. 2026-01-31T12:00:00Z",
        "domains[7] (domain7.com): gone_at: 'last week' is not an ISO 8601 time "
        "(e.g. 2026-01-31T12:00:00Z)",
    ]


def test_an_old_file_without_ds_and_gone_at_imports_as_before(store, tmp_path):
    data, _acc, _con, dom = export_file(3)
    assert data["version"] == 1 and not {"ds", "gone_at"} & dom[0].keys()
    dom[0]["dnssec"] = True  # signed, its DS records unknown: version 1 did not carry them
    queued = outbox(store)
    report = import_records(store, write(tmp_path / "old.json", data), actor=ACTOR)
    assert report.ok and report.written and report.domains == 3 and report.ds == 0
    assert outbox(store) == queued
    assert counts(store)["DsRecord"] == 0
    with store.read() as session:
        assert set(session.execute(select(Domain.gone_at)).scalars()) == {None}
    assert store.domain_record("domain0.com").ds == ()
    assert store.domain_record("domain0.com").domain.dnssec is True

    path = tmp_path / "new.json"
    export_records(store, path, actor=ACTOR)
    exported = json.loads(path.read_text(encoding="utf-8"))
    assert exported["version"] == 2
    assert [(d["ds"], d["gone_at"]) for d in exported["domains"]] == [([], None)] * 3


# -- the CLI -------------------------------------------------------------------------------------


@pytest.fixture
def cli_env(tmp_path, monkeypatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("INTERLINK_DATABASE_URL", url)
    monkeypatch.setenv("INTERLINK_DATA_DIR", str(tmp_path / "cli-data"))
    monkeypatch.setenv("COLUMNS", "250")
    get_settings.cache_clear()
    staffed(url, tmp_path / "cli-data")
    yield url
    get_settings.cache_clear()


def staffed(url: str, data_dir: Path) -> None:
    """A migrated store at `url` whose staff include whoever runs the tests, with the roles to
    import (supervisor) and export (privacy)."""
    store = Store.open(settings=Settings(database_url=url, data_dir=data_dir))
    try:
        add_me(store, StaffRole.SUPERVISOR, StaffRole.PRIVACY)
    finally:
        store.close()


def test_cli_import_refuses_a_bad_file_and_accepts_a_good_one(cli_env, tmp_path):
    from tui.cli import app

    data, _acc, _con, dom = export_file(40)
    dom[37]["contacts"]["registrant"] = "ILC99999"
    bad = write(tmp_path / "bad.json", data)
    runner = CliRunner()
    result = runner.invoke(app, ["import", str(bad)])
    assert result.exit_code == 1, result.output
    assert "domains[37] (domain37.com): contacts.registrant: no contact 'ILC99999'" in result.output
    assert "nothing was imported" in result.output

    dom[37]["contacts"]["registrant"] = data["contacts"][37]["handle"]
    good = write(tmp_path / "good.json", data)
    result = runner.invoke(app, ["import", str(good)])
    assert result.exit_code == 0, result.output
    assert "imported 4 accounts, 40 contacts, 40 domains (80 roles) from good.json" in result.output

    exported = tmp_path / "out.json"
    result = runner.invoke(app, ["export", str(exported)])
    assert result.exit_code == 0, result.output
    assert "exported 4 accounts, 41 contacts, 40 domains" in result.output

    other = f"sqlite:///{tmp_path / 'other.db'}"
    staffed(other, tmp_path / "o")
    result = runner.invoke(app, ["import", str(exported), "--db", other])
    assert result.exit_code == 0, result.output
    assert "imported 4 accounts, 40 contacts, 40 domains" in result.output
    check = Store.open(settings=Settings(database_url=other, data_dir=tmp_path / "o"))
    try:
        assert check.count_domains() == 40
    finally:
        check.close()


def test_cli_errors_are_one_line_without_traceback(cli_env, tmp_path):
    from tui.cli import app

    path = tmp_path / "broken.json"
    path.write_text('{"format": "interlink-export",\n "accounts": [}')
    result = CliRunner().invoke(app, ["import", str(path)])
    assert result.exit_code == 1
    assert "not valid JSON at line 2" in result.output
    assert "Traceback" not in result.output


def test_cli_skip_invalid_writes_the_rejects_beside_the_file(cli_env, tmp_path):
    from tui.cli import app

    data, _acc, con, _dom = export_file(5)
    con[2]["email"] = "nobody"
    path = write(tmp_path / "partly.json", data)
    result = CliRunner().invoke(app, ["import", str(path), "--skip-invalid"])
    assert result.exit_code == 0, result.output
    assert "imported 4 accounts, 4 contacts, 4 domains" in result.output
    rejects = tmp_path / "partly.rejects.json"
    assert rejects.exists()
    assert json.loads(rejects.read_text())["contacts"][0]["index"] == 2


def test_import_needs_the_supervisor_role_before_anything_is_read(store, tmp_path):
    data, *_ = export_file(3)
    path = write(tmp_path / "three.json", data)
    with pytest.raises(Refused, match="^sam may not import records: that needs the supervisor"):
        import_records(store, path, actor="staff:sam")
    with pytest.raises(Refused):  # refused before the file is even looked at
        import_records(store, tmp_path / "missing.json", actor="staff:sam")
    assert store.count_domains() == 0
    assert import_records(store, path, actor="staff:sue").written


def test_export_needs_the_privacy_role_and_is_recorded_once(store, tmp_path):
    fill(store)
    path = tmp_path / "out.json"
    with pytest.raises(Refused, match="^sue may not export customer data: that needs the privacy"):
        export_records(store, path, actor="staff:sue")
    assert not path.exists()
    assert store.access_events(store.house_contact().handle) == []
    export_records(store, path, actor="staff:pia")
    (event,) = store.access_events(store.house_contact().handle)
    assert (event.actor, event.contact, event.purpose) == ("staff:pia", None, AccessPurpose.EXPORT)


def test_errors_are_interlink_errors():
    assert issubclass(ImportFileError, InterlinkError)


# -- the shortcuts of the record checks give the same answers ------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        '{"name":"bücher.de","dnssec":true,"statuses":["ok"],"x":null,"n":-12,"f":0.1}',
        '{"a":9223372036854775807,"b":-9223372036854775808,"c":18446744073709551616}',
        '{"a":123456789012345678901234567890,"b":1e400,"c":-1e400,"d":1.7976931348623157e308}',
        '{"a":NaN,"b":Infinity,"c":-Infinity}',
        '{"a":"\\ud800","b":"\\ud83d\\ude00","c":"\\u00e9\\u0000"}',
        '{"b":1,"a":2,"b":3}',
        '{"a":4.9e-324,"b":2.2250738585072014e-308,"c":0.30000000000000004,"d":-0.0,"e":-0}',
        "[" * 1100 + "]" * 1100,
        '\ufeff{"a":1}',
        '{"a":1} {"b":2}',
        '{"a":1,}',
        '{"a":"\x01"}',
        "{\x0c}",
        '{"a":01}',
        "",
    ],
)
def test_record_texts_decode_as_json_decodes_them(text):
    def outcome(decode: Any) -> tuple[str, str]:
        try:
            return "value", repr(decode(text))
        except (ValueError, RecursionError) as exc:
            return type(exc).__name__, str(exc)

    assert outcome(loads) == outcome(json.JSONDecoder().decode)


def test_times_are_stored_as_sqlalchemy_stores_them_on_sqlite():
    dialect = sqlite_dialect.dialect()
    processor = DateTime(timezone=True).dialect_impl(dialect).bind_processor(dialect)
    when = codec_for("sqlite").when
    zones = (None, UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-11)))
    times = [
        datetime(year, month, 28, hour, 59, 7, micro, tzinfo=zone)
        for year in (1, 9, 999, 1970, 2026, 9999)
        for month, hour, micro in ((1, 0, 0), (2, 13, 5), (12, 23, 999999))
        for zone in zones
    ]
    assert [when(t) for t in times] == [processor(t) for t in times]
    assert when(None) is None
    # A processor that formats otherwise is used as it is.
    other = sqlite_when(lambda value: value.isoformat())
    assert other(times[0]) == times[0].isoformat()
    assert other(None) is None


def test_lists_are_stored_as_sqlalchemy_stores_them_on_sqlite():
    dialect = sqlite_dialect.dialect()
    processor = JSON().dialect_impl(dialect).bind_processor(dialect)
    as_json = codec_for("sqlite").json
    texts = ["", "a", "é", "O'Brien", 'say "hi"', "back\\slash", "tab\there", "\x00\x1f\x7f"]
    texts += ["\u00a0\u2028\u2029\ufeff", "😀", "\ud800", "Straße 5", "x" * 300]
    lists = [[], *([text] for text in texts), texts, texts * 3, ["ok", 1, None, True], [1.5]]
    assert [as_json(value) for value in lists] == [processor(value) for value in lists]
    # A processor that encodes otherwise is used as it is.
    other = json_texts(lambda value: repr(value))
    assert other(["a"]) == "['a']"
