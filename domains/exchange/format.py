"""The JSON exchange format (version 2; version 1 files still import) and the tables it fills.

The format::

    {"format": "interlink-export", "version": 2, "exported_at": "2026-01-31T12:00:00Z",
     "accounts": [{"number": "A-1001", "name": ..., "created_at": ...}, ...],
     "contacts": [{"handle": "ILC12", "kind": "person", ..., "account": "A-1001",
                   "house": false, "created_at": ...}, ...],
     "domains":  [{"name": "bücher.de", "account": "A-1001", ...,
                   "gone_at": null, "contacts": {"registrant": "ILC12", "tech": "IL-HOUSE"},
                   "ds": [{"key_tag": 2371, "algorithm": 13, "digest_type": 2,
                           "digest": "1F98..."}]}, ...]}

An export writes one record per line, times in ISO 8601 UTC with `Z`. `created_at` of a contact
is an addition to the format of the brief (optional on import), so that every record keeps its
creation time across an export and an import.

Version 2 added two keys of a domain, both optional on import: `ds`, its DS records (checked as the
store checks them, domains/dnssec.py; none if missing), and `gone_at`, when it left Interlink by a
transfer to another registrar (domains/departures.py; not gone if missing or null); and one of a
contact, optional too: `ascii_postal`, the ASCII form of its postal data that staff gave for the
registries' `int` postalInfo (domains/ascii_postal.py; none if missing or null). A version 1
file (without them) imports as before; a program that reads only version 1 refuses a version 2
file by its version rather than by the new keys.

The columns the import writes come from the tables themselves: the load fills the columns of
`FILLED_BY_LOAD` (ids, references), the record checks every other column (`CHECKED_COLUMNS`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Table

from domains.errors import InterlinkError
from domains.models import Account, Contact, Domain, DomainContact, DsRecord
from domains.store import ACCOUNT_FIELDS, CONTACT_FIELDS

FORMAT = "interlink-export"
VERSION = 2
#: The versions this program reads: 1 is 2 without `ds` and `gone_at`.
READABLE_VERSIONS = (1, 2)
SECTIONS = ("accounts", "contacts", "domains")
# The keys of the exchange format: the store's fields plus the references and creation time.
ACCOUNT_KEYS = frozenset(("number", *ACCOUNT_FIELDS, "created_at"))
CONTACT_KEYS = frozenset(
    ("handle", *CONTACT_FIELDS, "ascii_postal", "account", "house", "created_at")
)
DOMAIN_KEYS = frozenset(
    (
        "name",
        "account",
        "roid",
        "statuses",
        "nameservers",
        "dnssec",
        "created_at",
        "expires_at",
        "updated_at",
        "gone_at",
        "contacts",
        "ds",
    )
)
#: The keys of one DS record of a domain (`ds`), in the order the file gives them.
DS_KEYS = ("key_tag", "algorithm", "digest_type", "digest")
TOP_KEYS = frozenset(("format", "version", "exported_at", *SECTIONS))

ACCOUNT_TABLE: Table = Account.__table__  # type: ignore[attr-defined]
CONTACT_TABLE: Table = Contact.__table__  # type: ignore[attr-defined]
DOMAIN_TABLE: Table = Domain.__table__  # type: ignore[attr-defined]
ROLE_TABLE: Table = DomainContact.__table__  # type: ignore[attr-defined]
DS_TABLE: Table = DsRecord.__table__  # type: ignore[attr-defined]
TABLES: dict[str, Table] = {
    table.name: table
    for table in (ACCOUNT_TABLE, CONTACT_TABLE, DOMAIN_TABLE, ROLE_TABLE, DS_TABLE)
}

#: The columns whose values the load gives when it writes (ids, references to other rows), in
#: the order they open each row it writes.
FILLED_BY_LOAD: dict[str, tuple[str, ...]] = {
    "account": ("id",),
    "contact": ("id", "handle", "account_id", "is_house"),
    "domain": ("id", "account_id"),
    "domain_contact": tuple(ROLE_TABLE.c.keys()),
    "ds_record": tuple(column.name for column in DS_TABLE.c if column.name != "id"),
}
#: The columns the database fills (the ids of DS records, drawn from the table's own sequence:
#: nothing refers to them, and staff may not move that sequence).
DRAWN_BY_STORE: dict[str, tuple[str, ...]] = {"ds_record": ("id",)}
#: The columns whose stored values the record checks give: every other column of each table,
#: in the table's order.
CHECKED_COLUMNS: dict[str, tuple[str, ...]] = {
    name: tuple(
        column.name
        for column in table.c
        if column.name not in FILLED_BY_LOAD[name]
        and column.name not in DRAWN_BY_STORE.get(name, ())
    )
    for name, table in TABLES.items()
}
#: The columns the import writes, in the order of its rows: every column of each table but those
#: of DRAWN_BY_STORE.
COLUMNS: dict[str, tuple[str, ...]] = {
    name: tuple(TABLES[name].c[column].name for column in FILLED_BY_LOAD[name])
    + CHECKED_COLUMNS[name]
    for name in TABLES
}


class ImportFileError(InterlinkError):
    """The file as a whole cannot be imported (not JSON, not an export, unreadable)."""


def kind_of(value: Any) -> str:
    """What a JSON value is, in words: "an object", "a list", ..."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "true/false"
    if value is None:
        return "null"
    return "a number"


def check_header(name: str, meta: Mapping[str, Any]) -> None:
    """Refuse a file that says it is something else, or another version of the format."""
    if "format" in meta and meta["format"] != FORMAT:
        raise ImportFileError(
            f'{name} is not an Interlink export: "format" is {meta["format"]!r}, not "{FORMAT}"'
        )
    if "version" in meta and (
        isinstance(meta["version"], bool) or meta["version"] not in READABLE_VERSIONS
    ):
        readable = " and ".join(str(v) for v in READABLE_VERSIONS)
        raise ImportFileError(
            f"{name}: version {meta['version']!r} of the export format is not supported "
            f"(this program reads versions {readable})"
        )
