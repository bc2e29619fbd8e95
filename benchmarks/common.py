"""Shared helpers of the benchmarks: a deterministic synthetic data set in the exchange format.

`Synthetic(n_domains, seed, own_tech)` yields the records of a realistic store of `n_domains`
domains, each with 2 contacts: its own registrant, and as technical contact either its own contact
(30% by default, `own_tech`; 1.0 gives every domain its own tech) or Interlink's house contact (the
product's default tech; the file holds it as `"house": true`, and the import maps it to the store's
own house contact), and one account per four domains, in the JSON exchange format that
`interlink import` reads (see domains/exchange/format.py).

The mix: persons and organisations, 16 countries with valid phone numbers of each (the digits vary,
so nearly every number is different, like real data), e-mail addresses under example.com/.net/.org,
about 5% IDN domain names, TLDs com, net, org, info, de, co.uk, fr, nl, se, eu, ch, at, it, es, pl.
The same seed always gives the same records, byte for byte.
"""

from __future__ import annotations

import json
import random
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import idna

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # runnable as `python benchmarks/NAME.py` from anywhere
    sys.path.insert(0, str(ROOT))

from domains import speedups  # noqa: E402 (after the path above)

speedups.install()  # the benchmarks measure what the command line runs


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


FIRST = _words(
    "Anna Ben Clara David Emma Felix Grace Hugo Ines Jonas Karin Lars Maria Niels Olivia Pierre "
    "Quentin Rosa Sven Tanja Ulrich Vera Willem Xavier Yara Zoe Amélie Björn Chloé Dörte Elif "
    "François Gösta Håkan Jürgen Łukasz Małgorzata Noël Øystein Søren Zoë José Ana Luca Giulia "
    "Sophie Thomas James Oliver Charlotte Henry Alice Jack Isla Mohammed Aisha Fatima Omar Priya"
)
LAST = _words(
    "Smith Jones Taylor Brown Williams Wilson Johnson Davies Müller Schmidt Schneider Fischer "
    "Weber Meyer Wagner Becker Dubois Martin Bernard Moreau Laurent Lefèvre de-Vries Jansen "
    "van-Dijk Bakker Visser Andersson Johansson Karlsson Nilsson Lindström García Fernández "
    "López Martínez Rossi Russo Ferrari Esposito Nowak Kowalski Wiśniewski Wójcik Hansen "
    "Jensen Nielsen Gruber Huber Steiner Peeters Janssens Maes O'Brien Murphy Kelly Walsh"
)
COMPANY = _words(
    "Acme Globex Initech Umbrella Hooli Vandelay Stark Wayne Cyberdyne Tyrell Soylent Wonka "
    "Nordwind Alpenblick Sonnenschein Blauwal Rotkehlchen Lumière Mistral Tulp Molen Fjord "
    "Björk Aurora Solaris Vesta Orion Atlas Zephyr Helios Boreal Cobalt Quartz Saffron"
)
SUFFIX = ("Ltd", "GmbH", "SARL", "B.V.", "AB", "S.L.", "S.r.l.", "sp. z o.o.", "AG", "Inc.")
WORDS = _words(
    "shop web cloud data garden bakery studio design travel photo music books coffee wine "
    "bike sport yoga dental legal tax home build auto pet kids fashion art craft farm green "
    "solar tech soft net media food fresh blue red north south city local smart quick best "
    "alpha nova prime first star sun moon sea river lake hill forest stone iron gold silver"
)
IDN_WORDS = _words(
    "bücher münchen köln grün straße café crème élan smörgås båt åsa kraków łódź zürich "
    "øl blåbær fjäll ñandú señor"
)
TLDS = (
    ("com", 36),
    ("net", 8),
    ("org", 7),
    ("info", 3),
    ("de", 12),
    ("co.uk", 9),
    ("fr", 5),
    ("nl", 5),
    ("se", 3),
    ("eu", 3),
    ("ch", 2),
    ("at", 2),
    ("it", 2),
    ("es", 2),
    ("pl", 1),
)
IDN_TLDS = ("de", "fr", "se", "ch", "at", "es", "pl", "eu", "com", "net")
MAIL_DOMAINS = ("example.com", "example.net", "example.org", "mail.example.com", "example.co.uk")
NAMESERVERS = (
    ("ns1.interlink.example.net", "ns2.interlink.example.net"),
    ("ns1.interlink.example.net", "ns2.interlink.example.net", "ns3.interlink.example.org"),
    ("a.ns.example-dns.com", "b.ns.example-dns.com"),
    ("dns1.example-hosting.net", "dns2.example-hosting.net"),
    ("ns-1.example-cloud.org", "ns-2.example-cloud.org", "ns-3.example-cloud.org"),
    (),
)
STATUSES = (
    ["ok"],
    ["ok"],
    ["ok"],
    ["clientTransferProhibited"],
    ["clientTransferProhibited", "clientDeleteProhibited"],
    ["clientHold"],
    ["clientUpdateProhibited", "clientTransferProhibited"],
)


@dataclass(frozen=True)
class Country:
    """A country's address data and a phone number pattern whose completions are all valid."""

    code: str
    cities: tuple[tuple[str, str | None, str], ...]  # (city, state, postal code pattern)
    street: str  # "{n}" for the house number, "{w}" for a word
    phone_prefix: str  # +CC.NNN
    phone_digits: int  # how many digits after the prefix vary
    weight: int


COUNTRIES = (
    Country(
        "GB",
        (
            ("Bristol", "Bristol", "BS1 #AA"),
            ("London", None, "EC1A #BB"),
            ("Leeds", None, "LS1 #UR"),
        ),
        "{n} {w} Road",
        "+44.1212",
        6,
        14,
    ),
    Country(
        "DE",
        (("Berlin", "Berlin", "10###"), ("München", "Bayern", "80###"), ("Köln", "NRW", "50###")),
        "{w}straße {n}",
        "+49.30",
        6,
        16,
    ),
    Country(
        "FR",
        (("Paris", None, "750##"), ("Lyon", None, "6900#"), ("Marseille", None, "130##")),
        "{n} rue du {w}",
        "+33.123",
        6,
        9,
    ),
    Country(
        "NL",
        (("Amsterdam", "Noord-Holland", "10## AB"), ("Utrecht", "Utrecht", "35## CD")),
        "{w}straat {n}",
        "+31.101",
        6,
        7,
    ),
    Country(
        "SE",
        (("Stockholm", None, "1## ##"), ("Göteborg", None, "4## ##")),
        "{w}gatan {n}",
        "+46.8",
        6,
        4,
    ),
    Country(
        "US",
        (("Springfield", "IL", "627##"), ("Austin", "TX", "787##"), ("Portland", "OR", "972##")),
        "{n} {w} Street",
        "+1.2015",
        6,
        12,
    ),
    Country("CA", (("Moncton", "NB", "E1C #A#"),), "{n} {w} Avenue", "+1.5062", 6, 3),
    Country("IE", (("Cork", "Cork", "T12 X#Y#"),), "{n} {w} Lane", "+353.22", 5, 3),
    Country(
        "ES",
        (("Madrid", "Madrid", "280##"), ("Sevilla", "Andalucía", "410##")),
        "Calle {w} {n}",
        "+34.810",
        6,
        5,
    ),
    Country(
        "CH", (("Zürich", "ZH", "80##"), ("Genève", "GE", "12##")), "{w}weg {n}", "+41.212", 6, 3
    ),
    Country(
        "AT",
        (("Wien", "Wien", "10#0"), ("Graz", "Steiermark", "80#0")),
        "{w}gasse {n}",
        "+43.1234",
        6,
        3,
    ),
    Country("BE", (("Bruxelles", None, "10#0"),), "Rue {w} {n}", "+32.12", 6, 3),
    Country("DK", (("København", None, "1###"),), "{w}vej {n}", "+45.321", 5, 2),
    Country("NO", (("Oslo", None, "0###"),), "{w}veien {n}", "+47.21", 6, 2),
    Country(
        "PL",
        (("Kraków", "małopolskie", "3#-###"), ("Warszawa", "mazowieckie", "0#-###")),
        "ul. {w} {n}",
        "+48.123",
        6,
        4,
    ),
    Country("AU", (("Sydney", "NSW", "2###"),), "{n} {w} Street", "+61.212", 6, 2),
)

EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
#: Share of domains whose technical contact is their own; the others have Interlink's house
#: contact as tech, the product's default (architecture §1). Every domain has 2 contacts.
OWN_TECH = 0.3
HOUSE_HANDLE = "IL-HOUSE"


def iso(when: datetime) -> str:
    """ISO 8601 UTC with Z, as the exchange format writes times."""
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _weighted(items: list[tuple[Any, int]]) -> list[Any]:
    out: list[Any] = []
    for item, weight in items:
        out.extend([item] * weight)
    return out


@dataclass(frozen=True)
class Sizes:
    """How many records of each kind a synthetic store of n domains holds."""

    domains: int
    contacts: int

    @property
    def accounts(self) -> int:
        return max(1, self.domains // 4)


class Synthetic:
    """The deterministic generator; each section can be produced on its own, in order."""

    def __init__(self, n_domains: int, seed: int = 7, own_tech: float = OWN_TECH) -> None:
        self.seed = seed
        self.own_tech = own_tech
        self.sizes = Sizes(n_domains, n_domains + sum(map(self.has_own_tech, range(n_domains))))
        self._countries = _weighted([(c, c.weight) for c in COUNTRIES])
        self._tlds = _weighted(list(TLDS))

    def _rng(self, section: str) -> random.Random:
        return random.Random(f"{self.seed}:{section}")

    def _number(self, index: int) -> str:
        return f"A-{100000 + index}"

    def _postal(self, rng: random.Random, pattern: str) -> str:
        return "".join(str(rng.randrange(10)) if ch == "#" else ch for ch in pattern)

    def _phone(self, rng: random.Random, country: Country) -> str:
        digits = country.phone_digits
        return f"{country.phone_prefix}{rng.randrange(10**digits):0{digits}d}"

    def _address(self, rng: random.Random, country: Country) -> dict[str, Any]:
        city, state, postal = rng.choice(country.cities)
        street = [country.street.format(n=rng.randrange(1, 200), w=rng.choice(WORDS).title())]
        if rng.random() < 0.15:
            street.append(f"Flat {rng.randrange(1, 40)}")
        return {
            "street": street,
            "city": city,
            "state": state,
            "postal_code": self._postal(rng, postal),
            "country": country.code,
        }

    def accounts(self) -> Iterator[dict[str, Any]]:
        """The customer accounts."""
        rng = self._rng("accounts")
        for i in range(self.sizes.accounts):
            country = rng.choice(self._countries)
            first, last = rng.choice(FIRST), rng.choice(LAST)
            company = rng.random() < 0.3
            name = (
                f"{rng.choice(COMPANY)} {rng.choice(WORDS).title()} {rng.choice(SUFFIX)}"
                if company
                else f"{first} {last}"
            )
            opted_out = rng.random() < 0.1
            yield {
                "number": self._number(i),
                "name": name,
                "email": f"billing{i}@{rng.choice(MAIL_DOMAINS)}",
                "phone": self._phone(rng, country) if rng.random() < 0.9 else None,
                **self._address(rng, country),
                "status": "active" if rng.random() < 0.95 else rng.choice(("suspended", "closed")),
                "marketing_opt_out_at": iso(EPOCH + timedelta(minutes=i)) if opted_out else None,
                "marketing_opt_out_via": "portal" if opted_out else None,
                "created_at": iso(EPOCH - timedelta(days=rng.randrange(3000), seconds=i)),
            }

    def account_of(self, domain_index: int) -> int:
        """The account index that owns a domain (deterministic, spread over all accounts)."""
        return (domain_index * 7919) % self.sizes.accounts

    def handle(self, contact_index: int) -> str:
        """Handle of a contact: ILC<id> as a fresh store would give (the house contact is id 1)."""
        return f"ILC{contact_index + 2}"

    def has_own_tech(self, domain_index: int) -> bool:
        """Whether a domain's technical contact is its own (else it is the house contact)."""
        spread = ((domain_index + self.seed) * 2654435761) & 0xFFFFFFFF
        return spread < self.own_tech * 2**32

    def _roles(self) -> Iterator[tuple[int, bool]]:
        """(domain index, is the tech) of every contact, in the order of the contacts."""
        for i in range(self.sizes.domains):
            yield i, False
            if self.has_own_tech(i):
                yield i, True

    def contacts(self) -> Iterator[dict[str, Any]]:
        """The house contact, then each domain's registrant and its own tech if it has one."""
        yield {
            "handle": HOUSE_HANDLE,
            "kind": "organization",
            "name": "Interlink Hostmaster",
            "org": "Interlink Networks Ltd",
            "street": ["12 Harbour Road"],
            "city": "Bristol",
            "state": "Bristol",
            "postal_code": "BS1 5TT",
            "country": "GB",
            "voice": "+44.1179000000",
            "voice_ext": None,
            "fax": None,
            "fax_ext": None,
            "email": "hostmaster@interlink.example.net",
            "consent_fields": [],
            "consent_at": None,
            "consent_method": None,
            "account": None,
            "house": True,
            "created_at": iso(EPOCH),
        }
        rng = self._rng("contacts")
        for i, (domain, tech) in enumerate(self._roles()):
            owner = self.account_of(domain)
            country = rng.choice(self._countries)
            organization = rng.random() < (0.6 if tech else 0.25)
            first, last = rng.choice(FIRST), rng.choice(LAST)
            org = (
                f"{rng.choice(COMPANY)} {rng.choice(WORDS).title()} {rng.choice(SUFFIX)}"
                if organization
                else None
            )
            consent = rng.random() < 0.1
            local = f"{first}.{last}".lower().encode("ascii", "ignore").decode() or "contact"
            local = local.replace("'", "")
            voice = self._phone(rng, country) if rng.random() < 0.95 else None
            yield {
                "handle": self.handle(i),
                "kind": "organization" if organization else "person",
                "name": f"{first} {last}",
                "org": org,
                **self._address(rng, country),
                "voice": voice,
                "voice_ext": str(rng.randrange(10, 999)) if voice and rng.random() < 0.05 else None,
                "fax": self._phone(rng, country) if rng.random() < 0.05 else None,
                "fax_ext": None,
                "email": f"{local}{i}@{rng.choice(MAIL_DOMAINS)}",
                "consent_fields": ["name", "email"] if consent else [],
                "consent_at": iso(EPOCH + timedelta(seconds=i)) if consent else None,
                "consent_method": "portal" if consent else None,
                "account": self._number(owner),
                "house": False,
                "created_at": iso(EPOCH - timedelta(days=rng.randrange(3000), seconds=i)),
            }

    def domain_name(self, rng: random.Random, i: int) -> str:
        """A unique name: words and the index in base 36; about 5% are IDNs."""
        tag = str(i)  # letters then digits: the digits alone make the name unique
        if rng.random() < 0.05:
            return f"{rng.choice(IDN_WORDS)}-{tag}.{rng.choice(IDN_TLDS)}"
        first, second = rng.choice(WORDS), rng.choice(WORDS)
        joiner = "-" if rng.random() < 0.3 else ""
        return f"{first}{joiner}{second}{tag}.{rng.choice(self._tlds)}"

    def domains(self) -> Iterator[dict[str, Any]]:
        """The domains, each with its registrant and its technical contact (own or the house's)."""
        rng = self._rng("domains")
        contact = 0
        for i in range(self.sizes.domains):
            registrant = self.handle(contact)
            tech = HOUSE_HANDLE
            contact += 1
            if self.has_own_tech(i):
                tech = self.handle(contact)
                contact += 1
            name = self.domain_name(rng, i)
            created = EPOCH - timedelta(days=rng.randrange(1, 4000), seconds=i)
            tld = name.rsplit(".", 1)[1].upper()
            yield {
                "name": name,
                "account": self._number(self.account_of(i)),
                "roid": f"D{1000000 + i}-{'UK' if tld == 'UK' else tld}",
                "statuses": rng.choice(STATUSES),
                "nameservers": list(rng.choice(NAMESERVERS)),
                "dnssec": rng.random() < 0.2,
                "created_at": iso(created),
                "expires_at": iso(created + timedelta(days=365 * rng.randrange(2, 12))),
                "updated_at": iso(EPOCH + timedelta(seconds=i)),
                "contacts": {"registrant": registrant, "tech": tech},
            }


def write_export(data: Synthetic, path: Path) -> None:
    """Write the data set as an export file (one record per line, like `interlink export`)."""
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    with path.open("w", encoding="utf-8") as out:
        out.write('{"format":"interlink-export","version":1,')
        out.write(f'"exported_at":"{iso(EPOCH)}"')
        for section in ("accounts", "contacts", "domains"):
            out.write(f',\n"{section}":[')
            first = True
            for record in getattr(data, section)():
                out.write("\n" if first else ",\n")
                out.write(dumps(record))
                first = False
            out.write("\n]")
        out.write("}\n")


def alabel(name: str) -> str:
    """The A-label of a generated name (generated names are valid by construction)."""
    return idna.encode(name, uts46=True).decode("ascii") if not name.isascii() else name
