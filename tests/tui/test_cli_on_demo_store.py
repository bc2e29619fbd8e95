"""The staff commands on the demo data set: `show` in every format, `requests` end to end."""

from __future__ import annotations

import json
import re
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from typer.testing import CliRunner

from domains.changes import Workflow
from domains.exchange import import_records
from domains.identity import system_login
from domains.settings import Settings
from domains.store import Store
from domains.vocabulary import StaffRole
from tests.support.rdap_schema import rdap_answer
from tests.support.staff import add_me, seed_staff
from tui.cli import app

REPO = Path(__file__).resolve().parents[2]
NEW_TECH = {
    "org": "Kustlinjen Drift AB",
    "name": "Sara Lind",
    "email": "drift@kustlinjen.example.org",
    "voice": "+46 8 123 456 78",
    "city": "Stockholm",
    "country": "SE",
}


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp("demo")
    url = f"sqlite:///{folder / 'demo.db'}"
    store = Store.open(settings=Settings(database_url=url, data_dir=folder))
    import_records(store, REPO / "fixtures" / "demo.json", actor="system:test")
    seed_staff(store)
    add_me(store, StaffRole.SUPERVISOR)  # whoever runs the tests: the commands' identity
    store.close()
    return url


@pytest.fixture
def demo_env(demo_db, tmp_path, monkeypatch) -> tuple[str, Path]:
    """A private copy of the demo store, mail written to an outbox folder."""
    source = Path(demo_db.removeprefix("sqlite:///"))
    copy = tmp_path / "demo.db"
    copy.write_bytes(source.read_bytes())
    url = f"sqlite:///{copy}"
    monkeypatch.setenv("INTERLINK_DATABASE_URL", url)
    monkeypatch.setenv("INTERLINK_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("INTERLINK_MAIL__OUTBOX_DIR", str(tmp_path / "outbox"))
    from domains.settings import get_settings

    get_settings.cache_clear()
    yield url, tmp_path / "outbox"
    get_settings.cache_clear()


def run(*args: str):
    return CliRunner().invoke(app, list(args))


@pytest.mark.slow
def test_show_works_on_every_demo_domain_in_every_format(demo_db):
    names = [
        entry["name"]
        for entry in json.loads((REPO / "fixtures" / "demo.json").read_text())["domains"]
    ]
    assert len(names) >= 60
    for name in names:
        for fmt in ("whois", "rdap", "epp", "private"):
            result = run("show", name, "--as", fmt, "--db", demo_db)
            assert result.exit_code == 0, (name, fmt, result.output)
            assert result.output.strip()
        rdap = rdap_answer(run("show", name, "--as", "rdap", "--db", demo_db).output)
        assert rdap["objectClassName"] == "domain"


def test_unknown_domain_is_one_line_and_exit_1(demo_db):
    result = run("show", "not-ours-at-all.com", "--as", "whois", "--db", demo_db)
    assert result.exit_code == 1
    assert result.output.strip().count("\n") == 0
    assert "no domain" in result.output


def latest_mail(outbox: Path, to_fragment: str) -> bytes:
    mails = sorted(outbox.glob("*.eml"))
    for path in reversed(mails):
        data = path.read_bytes()
        if to_fragment in message_from_bytes(data, policy=policy.default)["To"]:
            return data
    raise AssertionError(f"no mail to {to_fragment} in {outbox}")


def test_requests_commands_end_to_end(demo_env, tmp_path):
    url, outbox = demo_env
    contact_file = tmp_path / "tech.json"
    contact_file.write_text(json.dumps(NEW_TECH))
    entered = run(
        "requests", "enter", "asakeramik.se", "--channel", "phone", "--contact", str(contact_file)
    )
    assert entered.exit_code == 0, entered.output
    reference = re.search(r"CR-[A-Z0-9]{5}-[A-Z0-9]{5}", entered.output).group(0)

    store = Store.open(settings=Settings(database_url=url, data_dir=tmp_path))
    me = f"staff:{system_login(store)}"
    assert Workflow(store).get(reference).entered_by == me  # the system's word, not a name
    registrant = store.domain_record("asakeramik.se").contact("registrant")
    mail = message_from_bytes(latest_mail(outbox, registrant.email), policy=policy.default)
    text = mail.get_body(("plain",)).get_content()
    token = re.search(r"/confirm/([A-Za-z0-9_-]+)", text).group(1)
    Workflow(store).confirm(token=token)

    listed = run("requests", "list", "--state", "confirmed")
    assert reference in listed.output
    shown = run("requests", "show", reference)
    assert "Kustlinjen Drift AB" in shown.output and "phone" in shown.output

    refused = run("requests", "approve", reference)
    assert refused.exit_code == 1
    assert f"{me} entered request {reference} and cannot also approve it" in refused.stderr
    assert Workflow(store).get(reference).state == "confirmed"

    # A request another member entered (ann, on the phone): the runner may approve it.
    other = Workflow(store).submit(
        actor="staff:ann", domain_name="daanbakker.nl", proposal=NEW_TECH, channel="phone"
    )
    Workflow(store).confirm(token=other.token)
    approved = run("requests", "approve", other.request.reference)
    assert approved.exit_code == 0, approved.output
    assert Workflow(store).get(other.request.reference).state == "applied"
    assert Workflow(store).get(other.request.reference).decided_by == me
    assert store.domain_record("daanbakker.nl").contact("tech").org == "Kustlinjen Drift AB"
    store.close()


def test_reject_cancel_and_expire_from_the_shell(demo_env, tmp_path):
    url, _ = demo_env
    store = Store.open(settings=Settings(database_url=url, data_dir=tmp_path))
    flow = Workflow(store)
    first = flow.submit(
        actor="customer:portal", domain_name="daanbakker.nl", proposal=NEW_TECH, channel="portal"
    )
    flow.confirm(token=first.token)
    no_reason = run("requests", "reject", first.request.reference, "--reason", " ")
    assert no_reason.exit_code == 1 and "reason" in no_reason.output
    rejected = run(
        "requests",
        "reject",
        first.request.reference,
        "--reason",
        "Unknown company",
    )
    assert rejected.exit_code == 0, rejected.output
    assert flow.get(first.request.reference).reason == "Unknown company"

    second = flow.submit(
        actor="customer:portal", domain_name="daanbakker.nl", proposal=NEW_TECH, channel="portal"
    )
    cancelled = run("requests", "cancel", second.request.reference)
    assert cancelled.exit_code == 0 and flow.get(second.request.reference).state == "cancelled"

    gone = run("requests", "show", "CR-AAAAA-AAAAA")
    assert gone.exit_code == 1 and "no change request" in gone.output
    expired = run("requests", "expire")
    assert expired.exit_code == 0 and "0 request(s) expired" in expired.output
    store.close()


def test_an_unreachable_database_is_a_clear_error_not_a_traceback():
    result = run("show", "x.com", "--db", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    assert result.exit_code == 1
    assert "the database failed" in result.output
    assert "Traceback" not in result.output


def test_publish_renders_every_answer_once_and_show_agrees(demo_env):
    """`interlink publish` renders all 75 demo domains; a second run has nothing to do; what
    WHOIS then serves from the rendered answers is what `show --as whois` renders live."""
    url, _outbox = demo_env
    first = run("publish", "--db", url, "--workers", "2")
    assert first.exit_code == 0, first.output
    assert "published 75 answers" in first.output
    assert "75 of 75 domains have current answers" in first.output
    again = run("publish", "--db", url)
    assert again.exit_code == 0, again.output
    assert "published 0 answers" in again.output
    from publishers.whois_server import whois_lookup

    store = Store.open(settings=Settings(database_url=url))
    lookup = whois_lookup(store, cache_bytes=0)
    try:
        served = lookup.answer("harbourside-bikes.com").body.decode()
        assert lookup.stats["published"] == 1
    finally:
        lookup.close()
        store.close()
    shown = run("show", "harbourside-bikes.com", "--as", "whois", "--db", url)
    assert shown.exit_code == 0, shown.output
    stamp = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
    assert (
        stamp.sub("T", served).replace("\r\n", "\n").strip()
        == stamp.sub("T", shown.output).replace("\r\n", "\n").strip()
    )
