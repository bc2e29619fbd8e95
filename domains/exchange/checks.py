"""Checking records: one check, driven by a table of what each kind of record needs.

Every record is checked with the functions of `domains.validation`; what differs between
accounts, contacts and domains is said once per kind in `KINDS`: the keys of the format, the
validation function, the checks of the references and flags (in the order their problems are
reported), and the columns made from others. The stored value of every column the check fills
(format.CHECKED_COLUMNS) comes out in the table's order, converted as its type says (codec.py).

Large files are checked in worker processes (see checking.py), a batch at a time: `check_batch`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from operator import itemgetter
from typing import Any

from domains import dnssec, validation
from domains.errors import ValidationFailed
from domains.exchange.codec import Encoder, codec_for, same
from domains.exchange.format import (
    ACCOUNT_KEYS,
    CHECKED_COLUMNS,
    CONTACT_KEYS,
    DOMAIN_KEYS,
    DS_KEYS,
    TABLES,
    kind_of,
)
from domains.exchange.reader import loads
from domains.exchange.records import (
    AccountRecord,
    CheckedBatch,
    ContactRecord,
    DomainRecord,
    Problem,
    Record,
    Rejection,
)
from domains.store import search_key

#: A check of one part of a record: (the record as given, its validated fields or None, the
#: problems so far, what the checks found) -> None; adds to the problems and to what was found.
Step = Callable[[Mapping[str, Any], dict[str, Any] | None, list[Problem], dict[str, Any]], None]
#: A column made from the record's other values.
Derived = tuple[str, Callable[[dict[str, Any]], Any]]


@dataclass(frozen=True)
class Kind:
    """What one kind of record needs checked, and how its checked record is made."""

    section: str
    table: str
    #: The record's own key, named in messages.
    key: str
    #: The keys of the exchange format.
    keys: frozenset[str]
    #: (the record as given, what the checks found) -> its validated fields, or raises.
    validate: Callable[[Mapping[str, Any], dict[str, Any]], dict[str, Any]]
    steps: tuple[Step, ...]
    derived: tuple[Derived, ...]
    make: Callable[[dict[str, Any], tuple[Any, ...]], Record]


def _problems(exc: ValidationFailed) -> list[Problem]:
    return [Problem(e.field, e.message) for e in exc.errors]


def _unknown(raw: Mapping[str, Any], allowed: frozenset[str]) -> list[Problem]:
    if raw.keys() <= allowed:  # the usual case, told without building the set of extra keys
        return []
    extra = raw.keys() - allowed
    return [Problem(key, "is not a field of this record") for key in sorted(extra)]


# -- the steps -----------------------------------------------------------------------------------


def _created_at(
    raw: Mapping[str, Any], clean: dict[str, Any] | None, problems: list[Problem], found: dict
) -> None:
    """`created_at`, optional (the import's time if missing)."""
    try:
        found["created_at"] = validation.aware("created_at", raw.get("created_at"))
    except ValidationFailed as exc:
        problems.extend(_problems(exc))


def _account(*, required: bool) -> Step:
    """`account`: the number of the owning account."""

    def step(
        raw: Mapping[str, Any], clean: dict[str, Any] | None, problems: list[Problem], found: dict
    ) -> None:
        number = raw.get("account")
        if number is None:
            if required:
                problems.append(
                    Problem("account", "is required (the number of the owning account)")
                )
        else:
            try:
                number = validation.account_number(number, "account")
            except ValidationFailed as exc:
                problems.extend(_problems(exc))
        found["account"] = number

    return step


def _flag(name: str) -> Step:
    """A true/false field, false if missing."""

    def step(
        raw: Mapping[str, Any], clean: dict[str, Any] | None, problems: list[Problem], found: dict
    ) -> None:
        value = raw.get(name, False)
        if not isinstance(value, bool):
            problems.append(Problem(name, f"must be true or false, not {kind_of(value)}"))
        found[name] = value

    return step


@lru_cache(maxsize=1024)
def _remembered_nameservers(hosts: tuple[str, ...]) -> list[str]:
    """validation.nameservers, remembered: a few name server sets serve most domains."""
    return validation.nameservers(list(hosts))


def _validate_domain(raw: Mapping[str, Any], found: dict[str, Any]) -> dict[str, Any]:
    hosts = raw.get("nameservers")
    if isinstance(hosts, list) and all(isinstance(h, str) for h in hosts):
        # Name servers are checked apart (same function, remembered): few sets serve most
        # domains. See _nameservers.
        found["hosts"] = tuple(hosts)
        clean = validation.domain({**raw, "nameservers": None})
    else:
        clean = validation.domain(raw)
    return clean


def _gone_at(
    raw: Mapping[str, Any], clean: dict[str, Any] | None, problems: list[Problem], found: dict
) -> None:
    """`gone_at`, optional: when the domain left Interlink (departures.py), as the file says."""
    try:
        found["gone_at"] = validation.aware("gone_at", raw.get("gone_at"))
    except ValidationFailed as exc:
        problems.extend(_problems(exc))


def _ds(
    raw: Mapping[str, Any], clean: dict[str, Any] | None, problems: list[Problem], found: dict
) -> None:
    """`ds`, optional: the domain's DS records, each an object of the four DS_KEYS, checked as
    the store checks them (dnssec.ds_records: IANA's registries, none twice); a domain with DS
    records is signed (`dnssec` true, or missing and made true; false is refused)."""
    found["ds"] = ()
    given = raw.get("ds")
    if given is None:
        return
    if not isinstance(given, list):
        problems.append(
            Problem("ds", f"must be a list of DS records (objects), not {kind_of(given)}")
        )
        return
    shape: list[Problem] = []
    for index, record in enumerate(given):
        if not isinstance(record, dict):
            shape.append(
                Problem(
                    f"ds[{index}]",
                    f"is {kind_of(record)}, not a DS record: an object of " + ", ".join(DS_KEYS),
                )
            )
            continue
        shape.extend(
            Problem(f"ds[{index}].{key}", "is not a field of a DS record")
            for key in sorted(record.keys() - set(DS_KEYS))
        )
        shape.extend(
            Problem(f"ds[{index}].{key}", "is required")
            for key in DS_KEYS
            if record.get(key) is None
        )
    if shape:
        problems.extend(shape)
        return
    try:
        records = dnssec.ds_records(given, "ds")
    except ValidationFailed as exc:
        problems.extend(_problems(exc))
        return
    if records and raw.get("dnssec") is False:
        problems.append(
            Problem("dnssec", "is false, but the domain has DS records: a signed domain is true")
        )
    elif records and "dnssec" not in raw:
        found["dnssec"] = True  # the flag the store keeps in step with the DS records
    found["ds"] = tuple((r.key_tag, r.algorithm, r.digest_type, r.digest) for r in records)


def _nameservers(
    raw: Mapping[str, Any], clean: dict[str, Any] | None, problems: list[Problem], found: dict
) -> None:
    hosts = found.pop("hosts", None)
    if hosts is not None:
        try:
            found["nameservers"] = _remembered_nameservers(hosts)
        except ValidationFailed as exc:
            problems.extend(_problems(exc))
    elif clean is not None:
        found["nameservers"] = clean["nameservers"]


def _roles(
    raw: Mapping[str, Any], clean: dict[str, Any] | None, problems: list[Problem], found: dict
) -> None:
    """`contacts`: role -> contact handle, a registrant at least."""
    roles: dict[str, str] = {}
    given = raw.get("contacts")
    if not isinstance(given, dict):
        problems.append(
            Problem(
                "contacts", 'must be an object of role to contact handle, e.g. {"registrant": ...}'
            )
        )
    else:
        for role, handle in given.items():
            if role not in validation.ROLES:
                problems.append(
                    Problem(f"contacts.{role}", f"is not a role ({', '.join(validation.ROLES)})")
                )
            elif not isinstance(handle, str) or not handle.strip():
                problems.append(Problem(f"contacts.{role}", "must be a contact handle"))
            else:
                roles[role] = handle.strip()
        if "registrant" not in given:
            problems.append(Problem("contacts.registrant", "a domain needs a registrant"))
    found["roles"] = roles


# -- the kinds -----------------------------------------------------------------------------------

KINDS: dict[str, Kind] = {
    kind.section: kind
    for kind in (
        Kind(
            section="accounts",
            table="account",
            key="number",
            keys=ACCOUNT_KEYS,
            validate=lambda raw, found: validation.account(raw),
            steps=(_created_at,),
            derived=(),
            make=lambda values, row: AccountRecord(values["number"], row),
        ),
        Kind(
            section="contacts",
            table="contact",
            key="handle",
            keys=CONTACT_KEYS,
            validate=lambda raw, found: validation.contact(raw),
            steps=(_account(required=False), _flag("house"), _created_at),
            derived=(
                ("name_key", lambda values: search_key(values["name"])),
                ("email_key", lambda values: search_key(values["email"])),
            ),
            make=lambda values, row: ContactRecord(
                values.get("handle"), values["account"], values["house"], row
            ),
        ),
        Kind(
            section="domains",
            table="domain",
            key="name",
            keys=DOMAIN_KEYS,
            validate=_validate_domain,
            steps=(
                _nameservers,
                _flag("dnssec"),
                _gone_at,
                _account(required=True),
                _roles,
                _ds,
            ),
            derived=(),
            make=lambda values, row: DomainRecord(
                values["name"],
                values["unicode_name"],
                values["account"],
                values["roles"],
                row,
                values["ds"],
            ),
        ),
    )
}


@dataclass(frozen=True)
class Plan:
    """How the checked values of a kind's record become its stored row, on one dialect."""

    #: (column, encoder) of the columns not stored as they are (times, lists, flags on SQLite).
    encoded: tuple[tuple[str, Encoder], ...]
    #: The values of the table's checked columns, in the table's order.
    row: Callable[[Mapping[str, Any]], tuple[Any, ...]]


@lru_cache(maxsize=16)
def plan_for(section: str, dialect_name: str) -> Plan:
    """The plan of the kind's table, from its columns and their types."""
    table = TABLES[KINDS[section].table]
    codec = codec_for(dialect_name)
    columns = CHECKED_COLUMNS[table.name]
    assert len(columns) > 1  # itemgetter of one key gives the value, not a tuple
    encoders = ((name, codec.for_column(table.c[name])) for name in columns)
    return Plan(
        encoded=tuple((name, encode) for name, encode in encoders if encode is not same),
        row=itemgetter(*columns),
    )


def check(kind: Kind, raw: Any, now: datetime, plan: Plan) -> tuple[Record | None, list[Problem]]:
    """A record of the file checked: (the checked record or None, every problem found)."""
    if not isinstance(raw, dict):
        return None, [Problem("", f"is {kind_of(raw)}, not a JSON object")]
    problems = _unknown(raw, kind.keys)
    found: dict[str, Any] = {}
    clean: dict[str, Any] | None
    try:
        clean = kind.validate(raw, found)
    except ValidationFailed as exc:
        problems.extend(_problems(exc))
        clean = None
    for step in kind.steps:
        step(raw, clean, problems, found)
    if problems or clean is None:
        return None, problems
    values = clean  # a fresh dict of validation's: completed here
    values.update(found)
    for name, derive in kind.derived:
        values[name] = derive(values)
    # Every record keeps its times from the file, else gets the import's; every row starts at 1.
    values["created_at"] = values.get("created_at") or now
    values["updated_at"] = values.get("updated_at") or now
    values["version"] = 1
    for name, encode in plan.encoded:
        values[name] = encode(values[name])
    return kind.make(values, plan.row(values)), problems


def check_batch(
    section: str, start: int, records: list[Any], now: datetime, dialect_name: str, texts: bool
) -> CheckedBatch | None:
    """Check a batch of records of one section (in a worker process for large files).

    With `texts`, the records are JSON texts; None if one of them is not the text of a whole JSON
    value.
    """
    kind = KINDS[section]
    plan = plan_for(section, dialect_name)
    checked: list[Record | None] = []
    rejected: dict[int, Rejection] = {}
    for offset, given in enumerate(records):
        raw = given
        if texts:
            try:
                raw = loads(given)
            except ValueError:
                return None
        record, problems = check(kind, raw, now, plan)
        checked.append(record)
        if problems:
            rejected[offset] = Rejection(label(kind, raw), tuple(problems))
    return CheckedBatch(section, start, checked, rejected)


def label(kind: Kind, raw: Any) -> str | None:
    """The record's own key for messages: number, handle or name."""
    if not isinstance(raw, dict):
        return None
    value = raw.get(kind.key)
    return value if isinstance(value, str) and value else None
