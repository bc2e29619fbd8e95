"""`interlink show DOMAIN --as whois|rdap|epp|private` on a store with a few domains."""

from __future__ import annotations

import pytest
import typer
from click.testing import Result
from lxml import etree
from typer.testing import CliRunner
from whois.parser import WhoisEntry

from domains.store import Store
from domains.vocabulary import StaffRole
from publishers.epp.schema import validate_frame
from publishers.policy import REDACTED_TEXT
from publishers.registries import parse_registries
from tests.support.factories import account_data, contact_data
from tests.support.rdap_schema import rdap_answer
from tests.support.staff import add_me
from tui.commands import show
from tui.commands.show import show_command

CONTACT_NS = "urn:ietf:params:xml:ns:contact-1.0"


@pytest.fixture
def app() -> typer.Typer:
    """A small app with the command as the lead registers it."""
    app = typer.Typer()
    app.command("show")(show_command)
    app.command("noop")(lambda: None)  # two commands, so `show` stays a subcommand
    return app


@pytest.fixture
def url(sqlite_store: Store) -> str:
    """A store with a person's domain (IDN), an organisation's domain, and a consenting one;
    whoever runs the tests is support staff (the private and EPP views need it)."""
    store = sqlite_store
    add_me(store, StaffRole.SUPPORT)
    account = store.create_account("staff:test", account_data())
    person = store.create_contact(
        "staff:test",
        contact_data(name="Wendelin Qualtrough", email="wendelin@qualtrough.example"),
        account_number=account.number,
    )
    company = store.create_contact(
        "staff:test",
        contact_data(kind="organization", org="Bücherstube Lindner GmbH", name="Jörg Lindner"),
        account_number=account.number,
    )
    consenting = store.create_contact(
        "staff:test",
        contact_data(
            name="Philippa Open", consent_fields=["name", "email"], consent_method="portal"
        ),
        account_number=account.number,
    )
    for name, holder in (
        ("qualtrough.com", person),
        ("bücherstube-lindner.de", company),
        ("open-book.org", consenting),
    ):
        store.create_domain(
            "staff:test",
            {"name": name, "nameservers": ["ns1.interlink.example.net"]},
            account_number=account.number,
            contacts={"registrant": holder.handle},
        )
    return str(store.engine.url)


DOMAINS = ["qualtrough.com", "bücherstube-lindner.de", "open-book.org"]


def run(app: typer.Typer, *args: str) -> Result:
    """Invoke `show` with a wide terminal (rich tables fold long cells otherwise)."""
    return CliRunner().invoke(app, ["show", *args], env={"COLUMNS": "200"})


def raw(result: Result) -> str:
    """Standard output exactly as written."""
    return result.stdout_bytes.decode("utf-8")


@pytest.mark.parametrize("domain", DOMAINS)
@pytest.mark.parametrize("fmt", ["whois", "rdap", "epp", "private"])
def test_every_format_on_every_domain(app: typer.Typer, url: str, domain: str, fmt: str) -> None:
    result = run(app, domain, "--as", fmt, "--db", url)
    assert result.exit_code == 0, result.output
    assert result.output.strip()


def test_whois(app: typer.Typer, url: str) -> None:
    result = run(app, "qualtrough.com", "--as", "whois", "--db", url)
    text = raw(result)  # Result.stdout turns CRLF into LF
    assert text.endswith("\r\n") and text.count("\n") == text.count("\r\n")
    parsed = WhoisEntry.load("qualtrough.com", text)
    assert parsed["domain_name"].lower() == "qualtrough.com"
    assert parsed["name"] == REDACTED_TEXT
    assert "Qualtrough" not in text.replace("QUALTROUGH.COM", "")
    assert "wendelin@" not in text


def test_rdap(app: typer.Typer, url: str) -> None:
    result = run(app, "bücherstube-lindner.de", "--as", "rdap", "--db", url)
    body = rdap_answer(result.stdout, "domainAnswer")
    assert body["ldhName"].startswith("xn--") and body["ldhName"].endswith(".de")
    assert body["unicodeName"] == "bücherstube-lindner.de"
    assert "Jörg" not in result.stdout
    assert any(r["name"] == {"type": "Registrant Name"} for r in body["redacted"])


def test_legal_persons_profile_option(app: typer.Typer, url: str) -> None:
    result = run(
        app,
        "bücherstube-lindner.de",
        "--as",
        "whois",
        "--profile",
        "cctld-legal-persons",
        "--db",
        url,
    )
    assert result.exit_code == 0
    assert "Registrant Name: Jörg Lindner" in raw(result).split("\r\n")


def test_epp_frames_carry_the_disclose_flags(app: typer.Typer, url: str) -> None:
    result = run(app, "open-book.org", "--as", "epp", "--db", url)
    assert result.exit_code == 0
    frames = [
        "<epp" + part.split("-->", 1)[-1].split("<!--")[0].split("<epp", 1)[1]
        for part in result.stdout.split("<!-- ")[1:]
    ]
    assert len(frames) == 2  # the registrant, and the house contact as tech
    registrant = etree.fromstring(frames[0].strip().encode())
    validate_frame(etree.tostring(registrant))
    disclose = registrant.find(f".//{{{CONTACT_NS}}}disclose")
    assert disclose.get("flag") == "0"
    private = [etree.QName(e).localname for e in disclose]
    assert private == ["addr", "voice", "fax"]  # name and email consented, org published
    house = etree.fromstring(frames[1].strip().encode())
    validate_frame(etree.tostring(house))
    # The house contact as tech: ICANN's Registration Data Policy shows a technical contact's
    # name, phone and e-mail only, so its organisation, address and fax are not for publication.
    house_disclose = house.find(f".//{{{CONTACT_NS}}}disclose")
    assert house_disclose.get("flag") == "0"
    assert [etree.QName(e).localname for e in house_disclose] == ["org", "addr", "fax"]
    assert "<clTRID>SHOW-PREVIEW</clTRID>" in result.stdout


def test_private_marks_every_field(app: typer.Typer, url: str) -> None:
    result = run(app, "open-book.org", "--as", "private", "--db", url)
    out = result.stdout
    assert "Philippa Open" in out  # the staff view shows the stored record
    assert "PUBLIC (consent)" in out
    assert "REDACTED (emptyValue)" in out
    assert "REDACTED (replacementValue)" not in out.split("tech")[0]  # e-mail consented
    assert "REDACTED (removal)" in out
    assert "PUBLIC (house contact)" in out


def test_private_is_the_default(app: typer.Typer, url: str) -> None:
    assert "REDACTED (emptyValue)" in run(app, "qualtrough.com", "--db", url).stdout


def test_unknown_domain_is_one_line_and_exit_1(app: typer.Typer, url: str) -> None:
    result = run(app, "nowhere-at-all.com", "--as", "whois", "--db", url)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == ["error: no domain 'nowhere-at-all.com'"]


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("not a domain!!", "'not a domain!!' contains a space, so it is not a valid domain name"),
        ("bad!.com", "'bad!.com' is not a valid domain name: '!' (U+0021 EXCLAMATION MARK)"),
        ("[/b]x.com", "'[/b]x.com' is not a valid domain name: '[' (U+005B LEFT SQUARE BRACKET)"),
        ("nowhere.example", "'nowhere.example' is not registrable: .example is not a known TLD"),
        ("www.qualtrough.com", "the registrable name is qualtrough.com"),
    ],
)
def test_a_name_that_is_not_valid_says_so_not_that_there_is_no_such_domain(
    app: typer.Typer, url: str, name: str, reason: str
) -> None:
    result = run(app, name, "--as", "whois", "--db", url)
    assert result.exit_code == 1
    assert result.stdout == ""
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: domain: ") and reason in line, line
    assert "no domain" not in line


def test_unknown_format_is_refused(app: typer.Typer, url: str) -> None:
    result = run(app, "qualtrough.com", "--as", "xml", "--db", url)
    assert result.exit_code == 2
    assert "whois, rdap, epp, private" in result.output


def test_unknown_profile_is_one_line(app: typer.Typer, url: str) -> None:
    result = run(app, "qualtrough.com", "--profile", "nope", "--db", url)
    assert result.exit_code == 1
    assert "no publication profile 'nope'" in result.stderr


def test_epp_follows_the_registry_contact_policy(
    app: typer.Typer, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = {
        "registries": {
            "thin": {
                "tlds": ["com"],
                "host": "127.0.0.1",
                "client_id": "interlink",
                "password_env": "UNUSED_PASSWORD",
                "contacts": {"registrant": "required", "tech": "prohibited"},
            }
        }
    }
    monkeypatch.setattr(
        show, "load_registries", lambda *_, **__: parse_registries(config, data_dir=None)
    )
    result = run(app, "qualtrough.com", "--as", "epp", "--db", url)
    assert result.exit_code == 0, result.output
    assert result.stdout.count("<contact:create") == 1
    assert "<!-- tech: prohibited by the registry; kept locally, not sent -->" in result.stdout
    assert "IL-HOUSE" not in result.stdout
    private = run(app, "qualtrough.com", "--as", "private", "--db", url).stdout
    assert "registry: prohibited" in private
    assert "sent to the registry: registrant" in private
    # WHOIS is the registrar's own RDDS: the prohibited tech is still shown per the profile.
    assert (
        "Tech Name: Interlink Hostmaster"
        in run(app, "qualtrough.com", "--as", "whois", "--db", url).stdout
    )


def test_each_domain_is_shown_under_its_tlds_publication(
    app: typer.Typer, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The registries file says that only the registry runs .de's RDDS: WHOIS and RDAP of a .de
    domain point there, the staff's view says so, and a .com domain is as ever."""
    config = {
        "registries": {
            "x": {
                "tlds": ["com", "org", "de"],
                "host": "127.0.0.1",
                "client_id": "interlink",
                "password_env": "UNUSED_PASSWORD",
            }
        },
        "tlds": {"de": {"rdds": "registry", "registry_whois": "whois.registry-de.example"}},
    }
    monkeypatch.setattr(
        show, "load_registries", lambda *_, **__: parse_registries(config, data_dir=None)
    )
    whois = raw(run(app, "bücherstube-lindner.de", "--as", "whois", "--db", url))
    assert "Registry WHOIS Server: whois.registry-de.example\r\n" in whois
    assert "Jörg" not in whois and "Registrant" not in whois
    rdap = rdap_answer(run(app, "bücherstube-lindner.de", "--as", "rdap", "--db", url).stdout)
    assert rdap["errorCode"] == 404  # no RDAP named for the registry: its WHOIS server instead
    private = run(app, "bücherstube-lindner.de", "--as", "private", "--db", url).stdout
    assert "RDDS: the registry's (whois.registry-de.example)" in " ".join(private.split())
    assert "Registrant Name: REDACTED FOR PRIVACY" in raw(
        run(app, "qualtrough.com", "--as", "whois", "--db", url)
    )
