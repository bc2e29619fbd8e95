"""Import and export of the JSON exchange format (`interlink import` / `interlink export`).

The format (version 1)::

    {"format": "interlink-export", "version": 1, "exported_at": "2026-01-31T12:00:00Z",
     "accounts": [{"number": "A-1001", "name": ..., "created_at": ...}, ...],
     "contacts": [{"handle": "ILC12", "kind": "person", ..., "account": "A-1001",
                   "house": false, "created_at": ...}, ...],
     "domains":  [{"name": "bücher.de", "account": "A-1001", ...,
                   "contacts": {"registrant": "ILC12", "tech": "IL-HOUSE"}}, ...]}

`export_records` writes one record per line, times in ISO 8601 UTC with `Z`. `created_at` of a
contact is an addition to the format of the brief (optional on import), so that every record keeps
its creation time across an export and an import.

How an import works:

1. **Check** (no writes). The file is read as a stream (a record at a time, any JSON layout; the
   whole file is never in memory) and every record is checked with the functions of
   `domains.validation`. Files of 32 MB and more are checked by worker processes, a batch at a
   time, so every core helps (started with the forkserver method: a program that calls
   `import_records` for such a file needs the usual `if __name__ == "__main__":` guard). Then
   the references are resolved: duplicates inside the file and against the store, accounts and
   contacts named by domains and contacts, the house contact (a contact with `"house": true`
   maps to the store's own house contact; it is never duplicated). Every problem names the
   record (`domains[37]`: positions count from 0, as in the file's lists), its key, the field
   and the reason. A key (number, handle, name) that appears twice is ambiguous: every record
   holding it is refused.
2. **Write**, only if nothing is wrong (or with `skip_invalid`, only the good records; a record
   that needs a rejected one is rejected too): one transaction, rows inserted with `executemany`
   in large batches, ids assigned up front (so roles need no round trip), and ONE audit event
   `store.import` naming the file and the counts. On SQLite, a table that the import fills from
   (nearly) empty has its secondary indexes dropped and rebuilt at the end, in the same
   transaction (see `_defer_indexes`).

Large files are written while they are checked (`_Streaming`): most are exports of another
store where every record is good, so the rows go in batch by batch as the workers return them,
with exactly the ids and rows of the two steps above; at the first problem that stops, is rolled
back at the end, and the import goes the two-step way. The cost: the store's write lock is held
for the whole import (minutes for a million domains), not only for the write; other writers wait
(and on SQLite give up after the busy timeout) meanwhile.

Why no audit event per record: an import of a million domains would write three million audit rows
that say nothing the file does not (no before, the after is the file), double the time of the
import and bury the trail staff actually read. The `store.import` event records who imported which
file when and how many records of each kind; every record keeps its own `created_at` (and domains
their `updated_at`) from the file, and the file itself is the before/after. Later changes to the
imported records are audited one by one as usual.

Imported records are not queued in the outbox: they come from a store that already holds them at the
registry (handles and ROIDs are registry identities and are kept as they are).
"""

from __future__ import annotations

import codecs
import gc
import json
import multiprocessing
import os
import re
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from functools import lru_cache
from json.encoder import encode_basestring_ascii
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import orjson
from sqlalchemy import Boolean, Connection, DateTime, Table, func, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.types import JSON

from domains import audit, validation
from domains.errors import InterlinkError, ValidationFailed
from domains.models import Account, Contact, Domain, DomainContact, utcnow
from domains.store import ACCOUNT_FIELDS, CONTACT_FIELDS, contact_handle, search_key

if TYPE_CHECKING:
    from rich.progress import Progress

    from domains.store import Store

FORMAT = "interlink-export"
VERSION = 1
SECTIONS = ("accounts", "contacts", "domains")
# The keys of the exchange format: the store's fields plus the references and creation time.
ACCOUNT_KEYS = frozenset(("number", *ACCOUNT_FIELDS, "created_at"))
CONTACT_KEYS = frozenset(("handle", *CONTACT_FIELDS, "account", "house", "created_at"))
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
        "contacts",
    )
)
TOP_KEYS = frozenset(("format", "version", "exported_at", *SECTIONS))

#: The columns the import writes, in the order of its rows (a test checks they cover the tables).
COLUMNS: dict[str, tuple[str, ...]] = {
    "account": (
        "id",
        "number",
        "name",
        "email",
        "phone",
        "street",
        "city",
        "state",
        "postal_code",
        "country",
        "status",
        "marketing_opt_out_at",
        "marketing_opt_out_via",
        "created_at",
        "updated_at",
        "version",
    ),
    "contact": (
        "id",
        "handle",
        "kind",
        "name",
        "org",
        "street",
        "city",
        "state",
        "postal_code",
        "country",
        "voice",
        "voice_ext",
        "fax",
        "fax_ext",
        "email",
        "consent_fields",
        "consent_at",
        "consent_method",
        "account_id",
        "is_house",
        "name_key",
        "email_key",
        "created_at",
        "updated_at",
        "version",
    ),
    "domain": (
        "id",
        "name",
        "unicode_name",
        "tld",
        "account_id",
        "roid",
        "statuses",
        "nameservers",
        "dnssec",
        "created_at",
        "expires_at",
        "updated_at",
        "version",
    ),
    "domain_contact": ("domain_id", "role", "contact_id"),
}

#: Files at least this large are checked by worker processes (when there is more than one core);
#: below it, starting the workers costs more than they save.
PARALLEL_MIN_BYTES = 32 << 20
#: Large files are written while they are checked (see _Streaming).
STREAMING = True
#: Records per batch sent to a worker, and rows per executemany.
CHECK_BATCH = 2000
WRITE_BATCH = 20000
#: Contacts whose handle is ILC<n> get id n when n is free, so that handles stay derived from ids.
_OWN_HANDLE = re.compile(r"^ILC([1-9][0-9]{0,9})$")
_MAX_CLAIMED_ID = 2**31 - 1  # an INTEGER id on PostgreSQL


class ImportFileError(InterlinkError):
    """The file as a whole cannot be imported (not JSON, not an export, unreadable)."""


class NotOneRecordPerLine(Exception):
    """The fast reading (a record per line) does not fit this file: read it record by record."""


# -- report --------------------------------------------------------------------------------------


@dataclass
class ImportReport:
    """What an import did: counts written per kind, and every problem found."""

    source: str
    accounts: int = 0
    contacts: int = 0
    domains: int = 0
    roles: int = 0
    house_mapped: int = 0
    rejected: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SECTIONS, 0))
    problems: list[str] = field(default_factory=list)
    written: bool = False
    seconds: float = 0.0
    #: Seconds spent reading and checking, resolving references, writing.
    timings: dict[str, float] = field(default_factory=dict)
    rejects_path: Path | None = None

    @property
    def ok(self) -> bool:
        """True when every record of the file was good."""
        return not self.problems

    def counts(self) -> dict[str, int]:
        """Records written, by kind."""
        return {
            "accounts": self.accounts,
            "contacts": self.contacts,
            "domains": self.domains,
            "roles": self.roles,
        }

    def summary(self) -> str:
        """One line for people."""
        if not self.written:
            bad = sum(self.rejected.values())
            return (
                f"nothing imported from {self.source}: {bad} bad record(s), "
                f"{len(self.problems)} problem(s)"
            )
        text = (
            f"imported {self.accounts} accounts, {self.contacts} contacts, {self.domains} domains "
            f"({self.roles} roles) from {self.source} in {self.seconds:.1f} s"
        )
        if self.house_mapped:
            text += "; the house contact of the file was mapped to this store's house contact"
        rejected = [f"{n} {kind}" for kind, n in self.rejected.items() if n]
        if rejected:
            text += "; rejected " + ", ".join(rejected)
        return text


# -- reading the file as a stream ----------------------------------------------------------------

_WS = re.compile(r"[ \t\n\r]*")
_scan_once = json.JSONDecoder().scan_once


def _kind_of(value: Any) -> str:
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


class _Reader:
    """An incremental reader of the export's JSON: yields one record at a time, any layout.

    Syntax errors are reported with their line and column; the whole file is never held in
    memory (a record at a time, in a buffer of about a megabyte).
    """

    CHUNK = 1 << 20

    def __init__(self, stream: BinaryIO, name: str, on_bytes: Callable[[int], None]) -> None:
        self.stream = stream
        self.name = name
        self.on_bytes = on_bytes
        self.decoder = codecs.getincrementaldecoder("utf-8-sig")()
        self.buf = ""
        self.pos = 0
        self.eof = False
        self.bytes_read = 0
        self.lines_before = 0  # newlines in the text already dropped from the buffer
        self.column_before = 0  # characters after the last dropped newline

    # low level

    def _fill(self, size: int | None = None) -> bool:
        """Append more text to the buffer; False at the end of the file."""
        if self.eof:
            return False
        if self.pos:
            dropped = self.buf[: self.pos]
            newlines = dropped.count("\n")
            if newlines:
                self.lines_before += newlines
                self.column_before = len(dropped) - dropped.rfind("\n") - 1
            else:
                self.column_before += len(dropped)
            self.buf = self.buf[self.pos :]
            self.pos = 0
        data = self.stream.read(size or self.CHUNK)
        try:
            text = self.decoder.decode(data, final=not data)
        except UnicodeDecodeError as exc:
            raise ImportFileError(
                f"{self.name} is not UTF-8 text (bad byte at offset {self.bytes_read + exc.start})"
            ) from None
        self.bytes_read += len(data)
        self.on_bytes(len(data))
        if not data:
            self.eof = True
        self.buf += text
        return bool(data)

    def where(self, pos: int | None = None) -> str:
        """'line L, column C' of a position in the buffer."""
        pos = self.pos if pos is None else pos
        newline = self.buf.rfind("\n", 0, pos)
        line = self.lines_before + self.buf.count("\n", 0, pos) + 1
        column = pos - newline if newline >= 0 else self.column_before + pos + 1
        return f"line {line}, column {column}"

    def fail(self, message: str, pos: int | None = None) -> ImportFileError:
        return ImportFileError(f"{self.name}: not valid JSON at {self.where(pos)}: {message}")

    def peek(self) -> str:
        """The next character that is not white space ('' at the end of the file)."""
        while True:
            end = _WS.match(self.buf, self.pos).end()
            if end < len(self.buf):
                self.pos = end
                return self.buf[end]
            self.pos = end
            if not self._fill():
                return ""

    def expect(self, chars: str, what: str) -> str:
        char = self.peek()
        if not char or char not in chars:
            found = f"found {char!r}" if char else "the file ends"
            raise self.fail(f"expected {what}, {found}")
        self.pos += 1
        return char

    def value(self) -> Any:
        """Decode the JSON value at the current position."""
        return self.span()[0]

    def span(self) -> tuple[Any, int]:
        """Decode the JSON value at the current position: (value, where it starts in buf)."""
        if not self.peek():
            raise self.fail("expected a value, the file ends")
        while True:
            try:
                begin = self.pos
                value, end = _scan_once(self.buf, self.pos)
            except (StopIteration, json.JSONDecodeError):
                if self._fill(self._grow()):
                    continue  # the value may go on in the next chunk
                raise self._error_here() from None
            if end >= len(self.buf) and self._fill():
                continue  # a number may go on in the next chunk
            self.pos = end
            return value, begin

    def _error_here(self) -> ImportFileError:
        """The syntax error at the current position, at the end of the file."""
        try:
            _scan_once(self.buf, self.pos)
        except StopIteration as stop:
            return self.fail("expected a value", stop.value)
        except json.JSONDecodeError as exc:
            return self.fail(exc.msg, exc.pos)
        return self.fail("the file ends in the middle of a value")

    def _grow(self) -> int:
        # A record longer than the buffer: read as much again, so re-scanning stays linear.
        return max(self.CHUNK, len(self.buf))

    # structure

    def top(self, texts: bool = False) -> Iterator[tuple[str, Any]]:
        """(key, value) of the top-level object; sections come as iterators of records.

        With `texts`, records come as their JSON text, not decoded: a record alone on its line
        (as `export_records` writes them) is taken as it is, without decoding it here, and the
        worker that decodes it raises NotOneRecordPerLine if it was not a whole record.
        """
        char = self.peek()
        if char != "{":
            if not char:
                raise ImportFileError(f"{self.name} is empty; expected an Interlink export")
            found = _kind_of(self.value()) if char in '["0123456789-tfn' else repr(char)
            raise ImportFileError(
                f"{self.name} is not an Interlink export: expected a JSON object "
                f'{{"format": "{FORMAT}", "version": {VERSION}, "accounts": [...], '
                f'"contacts": [...], "domains": [...]}} at the top, found {found}'
            )
        self.pos += 1
        seen: set[str] = set()
        if self.peek() == "}":
            self.pos += 1
        else:
            while True:
                if self.peek() != '"':
                    raise self.fail("expected a key in double quotes")
                key = self.value()
                self.expect(":", "':' after a key")
                if key in seen:
                    raise ImportFileError(f"{self.name}: the key {key!r} appears twice")
                seen.add(key)
                if key in SECTIONS:
                    if self.peek() != "[":
                        found = _kind_of(self.value())
                        raise ImportFileError(
                            f"{self.name}: {key!r} must be a list of records, found {found}"
                        )
                    self.pos += 1
                    yield key, self._texts() if texts else self._records()
                else:
                    yield key, self.value()
                if self.expect(",}", "',' or '}' after a value") == "}":
                    break
        if self.peek():
            raise self.fail("extra data after the end of the export object")

    def _records(self) -> Iterator[Any]:
        if self.peek() == "]":
            self.pos += 1
            return
        while True:
            yield self.value()
            if self.expect(",]", "',' or ']' after a record") == "]":
                return

    def _texts(self) -> Iterator[str]:
        if self.peek() == "]":
            self.pos += 1
            return
        while True:
            self.peek()
            newline = self.buf.find("\n", self.pos)
            if newline >= 0:
                line = self.buf[self.pos : newline].rstrip()
                if line.endswith(","):
                    line = line[:-1]
                self.pos += len(line)
                yield line
            else:  # no line end in the buffer: decode it here after all, and pass its text
                _value, begin = self.span()
                yield self.buf[begin : self.pos]
            char = self.peek()
            if char == ",":
                self.pos += 1
            elif char == "]":
                self.pos += 1
                return
            else:
                raise NotOneRecordPerLine


# -- checking records (in worker processes for large files) -------------------------------------

#: How values are stored: the dialect's own bind processors (None: the driver takes Python values).
_Codec = tuple[Callable[[Any], Any], Callable[[Any], Any], Callable[[Any], Any]]


@lru_cache(maxsize=4)
def _codec(dialect_name: str) -> _Codec:
    """(datetime, json, bool) encoders to the stored form, the same SQLAlchemy would use."""

    def same(value: Any) -> Any:
        return value

    if dialect_name != "sqlite":
        return same, same, same
    from sqlalchemy.dialects import sqlite

    dialect = sqlite.dialect()
    when = DateTime(timezone=True).dialect_impl(dialect).bind_processor(dialect) or same
    as_json = _json_texts(JSON().dialect_impl(dialect).bind_processor(dialect) or same)
    flag = Boolean().dialect_impl(dialect).bind_processor(dialect) or same

    encode_when = _sqlite_when(when)

    @lru_cache(maxsize=4096)
    def encode_words(words: tuple[str, ...]) -> Any:
        return as_json(list(words))

    def encode_json(value: Any) -> Any:
        # Lists of words (statuses, name servers, consented fields) repeat: encode each once.
        return encode_words(tuple(value)) if len(value) < 8 else as_json(value)

    return encode_when, encode_json, flag


#: The text of a time on SQLite (SQLAlchemy's DATETIME storage format), with positional fields.
_SQLITE_WHEN = "%04d-%02d-%02d %02d:%02d:%02d.%06d"
_WHEN_PROBES = (
    datetime(1, 1, 1),
    datetime(999, 12, 31, 23, 59, 59, 999999),
    datetime(2026, 1, 31, 12, 0, tzinfo=UTC),
    datetime(9999, 12, 31, 1, 2, 3, 45, tzinfo=timezone(timedelta(hours=-5))),
)


def _sqlite_when(processor: Callable[[Any], Any]) -> Callable[[datetime | None], Any]:
    """SQLAlchemy's SQLite datetime bind processor, as the same formatting done directly.

    The processor formats a dict of the fields of the time (the zone is not stored; times here are
    UTC), three times slower than the same format with positional fields. The direct form is
    used only if it gives SQLAlchemy's text for every probe, and only for datetime instances.
    """

    def direct(value: datetime | None) -> Any:
        if type(value) is not datetime:
            return None if value is None else processor(value)
        return _SQLITE_WHEN % (
            value.year,
            value.month,
            value.day,
            value.hour,
            value.minute,
            value.second,
            value.microsecond,
        )

    def via_processor(value: datetime | None) -> Any:
        return None if value is None else processor(value)

    return direct if all(direct(t) == processor(t) for t in _WHEN_PROBES) else via_processor


_JSON_PROBES = ([], ["ok"], ["12 Rue de l'Église", 'say "hi"', "back\\slash", "\u2028 \x00 😀"])


def _json_texts(processor: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """SQLAlchemy's JSON bind processor, with json.dumps' text of a list of strings built directly.

    The processor gives json.dumps(value): for a list of strings, "[", the strings each encoded by
    json's own encode_basestring_ascii and joined by ", ", "]"; building that directly saves
    setting up an encoder for each of millions of short lists. Used only if it gives the
    processor's text for every probe; anything but a list of strings goes to the processor.
    """

    def direct(value: Any) -> Any:
        if type(value) is not list or any(type(item) is not str for item in value):
            return processor(value)
        return "[" + ", ".join(map(encode_basestring_ascii, value)) + "]"

    return direct if all(direct(p) == processor(p) for p in _JSON_PROBES) else processor


@lru_cache(maxsize=1024)
def _nameservers(hosts: tuple[str, ...]) -> list[str]:
    """validation.nameservers, remembered: a few name server sets serve most domains."""
    return validation.nameservers(list(hosts))


def _errors(exc: ValidationFailed) -> list[tuple[str, str]]:
    return [(e.field, e.message) for e in exc.errors]


def _unknown(raw: Mapping[str, Any], allowed: frozenset[str]) -> list[tuple[str, str]]:
    if raw.keys() <= allowed:  # the usual case, told without building the set of extra keys
        return []
    extra = raw.keys() - allowed
    return [(key, "is not a field of this record") for key in sorted(extra)]


def _when(name: str, value: Any, errors: list[tuple[str, str]]) -> datetime | None:
    try:
        return validation.aware(name, value)
    except ValidationFailed as exc:
        errors.extend(_errors(exc))
        return None


def _check_account(raw: Any, now: datetime, codec: _Codec) -> tuple[Any, list[tuple[str, str]]]:
    """A checked account: (number, row without id) or None, and the problems."""
    if not isinstance(raw, dict):
        return None, [("", f"is {_kind_of(raw)}, not a JSON object")]
    when, as_json, _flag = codec
    errors = _unknown(raw, ACCOUNT_KEYS)
    try:
        clean = validation.account(raw)
    except ValidationFailed as exc:
        errors.extend(_errors(exc))
        clean = None
    created = _when("created_at", raw.get("created_at"), errors)
    if errors or clean is None:
        return None, errors
    row = (
        clean["number"],
        clean["name"],
        clean["email"],
        clean["phone"],
        as_json(clean["street"]),
        clean["city"],
        clean["state"],
        clean["postal_code"],
        clean["country"],
        clean["status"],
        when(clean["marketing_opt_out_at"]),
        clean["marketing_opt_out_via"],
        when(created or now),
        when(now),
        1,
    )
    return (clean["number"], row), []


def _check_contact(raw: Any, now: datetime, codec: _Codec) -> tuple[Any, list[tuple[str, str]]]:
    """A checked contact: (handle, account number, house, row part) or None, and the problems."""
    if not isinstance(raw, dict):
        return None, [("", f"is {_kind_of(raw)}, not a JSON object")]
    when, as_json, _flag = codec
    errors = _unknown(raw, CONTACT_KEYS)
    try:
        clean = validation.contact(raw)
    except ValidationFailed as exc:
        errors.extend(_errors(exc))
        clean = None
    number = raw.get("account")
    if number is not None:
        try:
            number = validation.account_number(number, "account")
        except ValidationFailed as exc:
            errors.extend(_errors(exc))
    house = raw.get("house", False)
    if not isinstance(house, bool):
        errors.append(("house", f"must be true or false, not {_kind_of(house)}"))
    created = _when("created_at", raw.get("created_at"), errors)
    if errors or clean is None:
        return None, errors
    # (id, handle) first and (account_id, is_house) in the middle are filled in when writing.
    head = (
        clean["kind"],
        clean["name"],
        clean["org"],
        as_json(clean["street"]),
        clean["city"],
        clean["state"],
        clean["postal_code"],
        clean["country"],
        clean["voice"],
        clean["voice_ext"],
        clean["fax"],
        clean["fax_ext"],
        clean["email"],
        as_json(clean["consent_fields"]),
        when(clean["consent_at"]),
        clean["consent_method"],
    )
    tail = (
        search_key(clean["name"]),
        search_key(clean["email"]),
        when(created or now),
        when(now),
        1,
    )
    return (clean.get("handle"), number, house, head, tail), []


def _check_domain(raw: Any, now: datetime, codec: _Codec) -> tuple[Any, list[tuple[str, str]]]:
    """A checked domain: (A-label, account number, roles, row part) or None, and the problems."""
    if not isinstance(raw, dict):
        return None, [("", f"is {_kind_of(raw)}, not a JSON object")]
    when, as_json, flag = codec
    errors = _unknown(raw, DOMAIN_KEYS)
    hosts = raw.get("nameservers")
    remembered = isinstance(hosts, list) and all(isinstance(h, str) for h in hosts)
    try:
        # Name servers are checked apart (same function, remembered): few sets serve most domains.
        clean = validation.domain({**raw, "nameservers": None} if remembered else raw)
    except ValidationFailed as exc:
        errors.extend(_errors(exc))
        clean = None
    nameservers: list[str] = []
    if remembered:
        try:
            nameservers = _nameservers(tuple(hosts))
        except ValidationFailed as exc:
            errors.extend(_errors(exc))
    elif clean is not None:
        nameservers = clean["nameservers"]
    dnssec = raw.get("dnssec", False)
    if not isinstance(dnssec, bool):
        errors.append(("dnssec", f"must be true or false, not {_kind_of(dnssec)}"))
    number = raw.get("account")
    if number is None:
        errors.append(("account", "is required (the number of the owning account)"))
    else:
        try:
            number = validation.account_number(number, "account")
        except ValidationFailed as exc:
            errors.extend(_errors(exc))
    roles: dict[str, str] = {}
    given = raw.get("contacts")
    if not isinstance(given, dict):
        errors.append(
            ("contacts", 'must be an object of role to contact handle, e.g. {"registrant": ...}')
        )
    else:
        for role, handle in given.items():
            if role not in validation.ROLES:
                errors.append(
                    (f"contacts.{role}", f"is not a role ({', '.join(validation.ROLES)})")
                )
            elif not isinstance(handle, str) or not handle.strip():
                errors.append((f"contacts.{role}", "must be a contact handle"))
            else:
                roles[role] = handle.strip()
        if "registrant" not in given:
            errors.append(("contacts.registrant", "a domain needs a registrant"))
    if errors or clean is None:
        return None, errors
    head = (
        clean["name"],
        clean["unicode_name"],
        clean["tld"],
    )
    tail = (
        clean["roid"],
        as_json(clean["statuses"]),
        as_json(nameservers),
        flag(dnssec),
        when(clean["created_at"] or now),
        when(clean["expires_at"]),
        when(clean["updated_at"] or now),
        1,
    )
    return (clean["name"], number, roles, head, tail), []


_CHECKS = {"accounts": _check_account, "contacts": _check_contact, "domains": _check_domain}


_decode = json.JSONDecoder().decode
#: Every byte of a text as "0" if it is a digit, else as "x": to find long numbers fast.
_DIGIT_SHAPES = bytes(0x30 if 0x30 <= byte <= 0x39 else 0x78 for byte in range(256))
#: 19 digits in a row: maybe an integer beyond 64 bits, which orjson reads as a float.
_LONG_DIGITS = b"0" * 19


def _loads(text: str) -> Any:
    """The record of a JSON text, exactly as json decodes it, by orjson where that is the same.

    orjson is several times faster. It reads the same values, except integers beyond 64 bits (as
    floats: such texts go to json), and it refuses what json accepts beyond the JSON standard (NaN,
    Infinity, 1e400, lone surrogates) or beyond its depth limit: json decides those.
    """
    data = text.encode("utf-8", "surrogatepass")  # lone surrogates: bad UTF-8, refused by orjson
    if _LONG_DIGITS not in data.translate(_DIGIT_SHAPES):
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass
    return _decode(text)


def _check_batch(
    section: str, records: list[Any], now: datetime, dialect_name: str, texts: bool
) -> list[tuple[Any, list[tuple[str, str]], str | None]] | None:
    """Check a batch of records of one section (in a worker process for large files).

    Returns (checked value or None, problems, the record's key if it has problems) per record;
    None if `texts` and one of them is not the text of a whole JSON value.
    """
    check = _CHECKS[section]
    codec = _codec(dialect_name)
    out = []
    for raw in records:
        if texts:
            try:
                raw = _loads(raw)
            except ValueError:
                return None
        value, errors = check(raw, now, codec)
        out.append((value, errors, _label(section, raw) if errors else None))
    return out


def _label(section: str, raw: Any) -> str | None:
    """The record's own key for messages: number, handle or name."""
    if not isinstance(raw, dict):
        return None
    key = {"accounts": "number", "contacts": "handle", "domains": "name"}[section]
    value = raw.get(key)
    return value if isinstance(value, str) and value else None


# -- the checked file ----------------------------------------------------------------------------


@dataclass
class _Checked:
    """Every record of the file after checking; None where a record is bad."""

    accounts: list[Any] = field(default_factory=list)
    contacts: list[Any] = field(default_factory=list)
    domains: list[Any] = field(default_factory=list)
    labels: dict[tuple[str, int], str | None] = field(default_factory=dict)
    reasons: dict[tuple[str, int], list[str]] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    def reject(self, section: str, index: int, reason: str) -> None:
        """Refuse a record that passed its own checks (a duplicate, a broken reference)."""
        records = getattr(self, section)
        value = records[index]
        if value is not None and (section, index) not in self.labels:
            # accounts: number; contacts: handle; domains: the U-label
            self.labels[(section, index)] = value[3][1] if section == "domains" else value[0]
        self.reasons.setdefault((section, index), []).append(reason)
        records[index] = None

    def where(self, section: str, index: int) -> str:
        label = self.labels.get((section, index))
        return f"{section}[{index}]" + (f" ({label})" if label else "")


#: Allocations between two young collections in a check worker (Python's default: 700).
WORKER_GC_THRESHOLD = 20_000


def _worker_started() -> None:
    """Keep the cyclic garbage collector from taking a tenth of a check worker's time.

    A worker starts with this module and the validation libraries loaded (large tables) and keeps
    them to the end: they are frozen, so that full collections no longer walk them again. And a
    batch allocates millions of objects, nearly all freed by reference counting: collecting young
    objects every 20,000 allocations instead of every 700 finds the same rare cycles, later.
    Measured: 8% of the check time in the collector before, 2% after. (The collector only frees
    unreachable objects: no result changes.)
    """
    gc.freeze()
    gc.set_threshold(WORKER_GC_THRESHOLD, *gc.get_threshold()[1:])


class _Checker:
    """Runs the record checks, in this process or in a pool of workers, in file order."""

    def __init__(self, parallel: bool, now: datetime, dialect_name: str) -> None:
        self.now = now
        self.dialect_name = dialect_name
        self.texts = parallel
        self.pool = None
        self.in_flight: deque[tuple[str, int, list[Any], Any]] = deque()
        if parallel:
            workers = max(1, min(os.cpu_count() or 1, 8))
            # forkserver, not fork: the caller may run threads (a progress display, a server)
            # and hold connections; the workers start from a clean process that has already
            # imported this module.
            if "forkserver" in multiprocessing.get_all_start_methods():
                context = multiprocessing.get_context("forkserver")
                context.set_forkserver_preload([__name__])
            else:
                context = multiprocessing.get_context("spawn")
            self.pool = context.Pool(workers, initializer=_worker_started)
            self.max_in_flight = workers * 4

    def cancel(self) -> None:
        """Forget the batches in flight: their results are no longer wanted."""
        self.in_flight.clear()

    def close(self) -> None:
        if self.pool is not None:
            self.pool.terminate()
            self.pool.join()
            self.pool = None

    def submit(self, section: str, start: int, records: list[Any]) -> Iterator[Any]:
        """Queue a batch; yields finished batches (section, start, results) in file order."""
        if self.pool is None:
            results = _check_batch(section, records, self.now, self.dialect_name, self.texts)
            yield self._done(section, start, results)
            return
        args = (section, records, self.now, self.dialect_name, self.texts)
        self.in_flight.append((section, start, self.pool.apply_async(_check_batch, args)))
        while len(self.in_flight) > self.max_in_flight or (
            self.in_flight and self.in_flight[0][2].ready()
        ):
            section, start, pending = self.in_flight.popleft()
            yield self._done(section, start, pending.get())

    def drain(self) -> Iterator[Any]:
        while self.in_flight:
            section, start, pending = self.in_flight.popleft()
            yield self._done(section, start, pending.get())

    @staticmethod
    def _done(section: str, start: int, results: Any) -> Any:
        if results is None:
            raise NotOneRecordPerLine
        return section, start, results


def _read_and_check(
    path: Path,
    checked: _Checked,
    *,
    now: datetime,
    dialect_name: str,
    parallel: bool,
    streaming: _Streaming | None,
    progress: Progress | None,
) -> None:
    """Read the whole file, checking every record; fills `checked` (and feeds `streaming`)."""
    task = None
    if progress is not None:
        task = progress.add_task(f"checking {path.name}", total=path.stat().st_size or 1)

    def advance(n: int) -> None:
        if task is not None and n:
            progress.advance(task, n)

    checker = _Checker(parallel, now, dialect_name)
    try:
        try:
            _read(path, checked, checker, advance, streaming)
        except NotOneRecordPerLine:
            # Not a record per line after all: start again, decoding record by record here.
            checked.__init__()  # type: ignore[misc]
            checker.texts = False
            if streaming is not None:
                streaming.failed = True
            if task is not None:
                progress.reset(task)
            _read(path, checked, checker, advance, None)
    finally:
        checker.close()
        if task is not None:
            progress.remove_task(task)


def _read(
    path: Path,
    checked: _Checked,
    checker: _Checker,
    advance: Callable,
    streaming: _Streaming | None,
) -> None:
    """One pass over the file: every record checked, in file order."""

    def take(done: Iterator[Any]) -> None:
        for section, start, results in done:
            if streaming is not None:
                streaming.feed(section, results)
            target = getattr(checked, section)
            for offset, (value, errors, label) in enumerate(results):
                target.append(value)
                if not errors:
                    continue
                index = start + offset
                checked.labels[(section, index)] = label
                for name, message in errors:
                    reason = f"{name}: {message}" if name else message
                    checked.reasons.setdefault((section, index), []).append(reason)

    try:
        with path.open("rb") as stream:
            reader = _Reader(stream, path.name, advance)
            for key, value in reader.top(texts=checker.texts):
                if key not in SECTIONS:
                    checked.meta[key] = value
                    if key not in TOP_KEYS:
                        raise ImportFileError(
                            f"{path.name}: unknown top-level key {key!r}; an export holds "
                            + ", ".join(sorted(TOP_KEYS))
                        )
                    _check_header(path.name, checked.meta)
                    continue
                batch: list[Any] = []
                start = 0
                for record in value:
                    batch.append(record)
                    if len(batch) >= CHECK_BATCH:
                        take(checker.submit(key, start, batch))
                        start += len(batch)
                        batch = []
                if batch:
                    take(checker.submit(key, start, batch))
                take(checker.drain())
        if "format" not in checked.meta:
            raise ImportFileError(
                f'{path.name} is not an Interlink export: it has no "format": "{FORMAT}"'
            )
    except BaseException:
        checker.cancel()
        raise


def _check_header(name: str, meta: Mapping[str, Any]) -> None:
    if "format" in meta and meta["format"] != FORMAT:
        raise ImportFileError(
            f'{name} is not an Interlink export: "format" is {meta["format"]!r}, not "{FORMAT}"'
        )
    if "version" in meta and meta["version"] != VERSION:
        raise ImportFileError(
            f"{name}: version {meta['version']!r} of the export format is not supported "
            f"(this program reads version {VERSION})"
        )


# -- resolving references ------------------------------------------------------------------------


def _existing(conn: Connection, column: Any, values: set[str]) -> set[str]:
    """Which of `values` the store already holds in `column`."""
    if not values:
        return set()
    total = conn.execute(select(func.count()).select_from(column.table)).scalar_one()
    if total <= 4 * len(values) or total <= 100_000:
        found = set(conn.execute(select(column)).scalars())
        return found & values
    out: set[str] = set()
    ordered = sorted(values)
    for i in range(0, len(ordered), 500):
        out.update(conn.execute(select(column).where(column.in_(ordered[i : i + 500]))).scalars())
    return out


def _lookup(conn: Connection, key: Any, value: Any, wanted: set[str]) -> dict[str, int]:
    """{key: id} of the store rows whose key is in `wanted`."""
    out: dict[str, int] = {}
    ordered = sorted(wanted)
    for i in range(0, len(ordered), 500):
        out.update(
            (k, v) for k, v in conn.execute(select(key, value).where(key.in_(ordered[i : i + 500])))
        )
    return out


@dataclass
class _Links:
    """References that point into the store rather than into the file."""

    house_id: int
    house_handle: str
    accounts: dict[str, int] = field(default_factory=dict)  # number -> id
    contacts: dict[str, int] = field(default_factory=dict)  # handle -> id


def _unique(
    checked: _Checked, section: str, field_name: str, key_of: Callable[[Any], str | None]
) -> tuple[dict[str, int], dict[str, int]]:
    """({key: index} of the records whose key is unique in the file, {key: index} of the rest).

    A key that appears more than once is ambiguous (which record did the file mean?), so every
    record that holds it is refused, and so is whatever refers to it.
    """
    records = getattr(checked, section)
    unique: dict[str, int] = {}
    repeated: dict[str, list[int]] = {}
    for i, value in enumerate(records):
        if value is None:
            continue
        key = key_of(value)
        if key is None:
            continue
        if key in unique:
            repeated.setdefault(key, [unique[key]]).append(i)
        else:
            unique[key] = i
    rejected: dict[str, int] = {}
    for key, where in repeated.items():
        del unique[key]
        rejected[key] = where[0]
        listed = ", ".join(f"{section}[{i}]" for i in where[:5])
        more = f" and {len(where) - 5} more" if len(where) > 5 else ""
        for i in where:
            checked.reject(
                section,
                i,
                f"{field_name}: {key} appears {len(where)} times in the file ({listed}{more})",
            )
    return unique, rejected


def _rejected_keys(checked: _Checked, section: str, normalise: Callable[[str], str]) -> dict:
    """{key: index} of the records refused by their own checks (keys as the file gave them)."""
    out: dict[str, int] = {}
    for (where, index), label in checked.labels.items():
        if where == section and label and isinstance(label, str):
            out.setdefault(normalise(label), index)
    return out


def _resolve(store: Store, checked: _Checked) -> _Links:
    """Duplicates, references between records, and records that depend on rejected ones."""
    acc = Account.__table__.c  # type: ignore[attr-defined]
    con = Contact.__table__.c  # type: ignore[attr-defined]
    dom = Domain.__table__.c  # type: ignore[attr-defined]
    rejected_numbers = _rejected_keys(checked, "accounts", lambda n: n.strip().upper())
    rejected_handles = _rejected_keys(checked, "contacts", str.strip)

    numbers, twice = _unique(checked, "accounts", "number", lambda v: v[0])
    rejected_numbers.update(twice)
    houses, _ = _unique(checked, "contacts", "house", lambda v: "true" if v[2] else None)
    house_index = houses.get("true")
    checked.meta["house_index"] = house_index
    handles, twice = _unique(checked, "contacts", "handle", lambda v: v[0])
    rejected_handles.update(twice)
    names, _ = _unique(checked, "domains", "name", lambda v: v[0])

    with store.engine.connect() as conn:
        house = conn.execute(select(con.id, con.handle).where(con.is_house.is_(True))).first()
        if house is None:
            raise ImportFileError("this store has no house contact; open it with Store.open()")
        links = _Links(house_id=house.id, house_handle=house.handle)

        for number in _existing(conn, acc.number, set(numbers)):
            index = numbers.pop(number)
            checked.reject("accounts", index, f"number: {number} already exists in the store")
            rejected_numbers[number] = index
        own = {h for h, i in handles.items() if i != house_index}
        for handle in _existing(conn, con.handle, own):
            index = handles.pop(handle)
            checked.reject("contacts", index, f"handle: {handle} already exists in the store")
            rejected_handles[handle] = index
        for name in _existing(conn, dom.name, set(names)):
            checked.reject("domains", names.pop(name), f"name: {name} already exists in the store")

        wanted_numbers = {
            v[1]
            for v in (*checked.contacts, *checked.domains)
            if v is not None and v[1] is not None and v[1] not in numbers
        }
        wanted_handles = {
            h
            for v in checked.domains
            if v is not None
            for h in v[2].values()
            if h not in handles and h not in rejected_handles
        }
        links.accounts = _lookup(conn, acc.number, acc.id, wanted_numbers)
        links.contacts = _lookup(conn, con.handle, con.id, wanted_handles)

    def account_problem(number: str) -> str | None:
        if number in numbers or number in links.accounts:
            return None
        if number in rejected_numbers:
            return (
                f"account: account {number!r} was rejected (accounts[{rejected_numbers[number]}])"
            )
        return f"account: no account {number!r}"

    # contacts -> accounts (the house contact belongs to no account of the file)
    for i, value in enumerate(checked.contacts):
        if value is None or value[1] is None or i == house_index:
            continue
        problem = account_problem(value[1])
        if problem:
            checked.reject("contacts", i, problem)
            if value[0] is not None:
                handles.pop(value[0], None)
                rejected_handles.setdefault(value[0], i)

    # domains -> accounts and contacts
    for i, value in enumerate(checked.domains):
        if value is None:
            continue
        problems = []
        problem = account_problem(value[1])
        if problem:
            problems.append(problem)
        for role, handle in value[2].items():
            if handle in handles or handle in links.contacts:
                continue
            if handle in rejected_handles:
                problems.append(
                    f"contacts.{role}: contact {handle!r} was rejected "
                    f"(contacts[{rejected_handles[handle]}])"
                )
            else:
                problems.append(f"contacts.{role}: no contact {handle!r}")
        for problem in problems:
            checked.reject("domains", i, problem)
    return links


# -- writing -------------------------------------------------------------------------------------


def _insert_sql(conn: Connection, table: Table) -> str:
    """INSERT with positional parameters in the order of COLUMNS (SQLite's qmark style)."""
    quote = conn.dialect.identifier_preparer.quote
    columns = COLUMNS[table.name]
    names = ", ".join(quote(name) for name in columns)
    marks = ", ".join("?" for _ in columns)
    return f"INSERT INTO {quote(table.name)} ({names}) VALUES ({marks})"


class _Writer:
    """executemany in large batches: the driver directly on SQLite (values already in stored
    form), SQLAlchemy Core insert() elsewhere (it batches into multi-row VALUES)."""

    def __init__(self, conn: Connection, advance: Callable[[int], None]) -> None:
        self.conn = conn
        self.advance = advance
        self.sqlite = conn.dialect.name == "sqlite"

    def write(self, table: Table, rows: Iterator[tuple[Any, ...]]) -> int:
        names = COLUMNS[table.name]
        sql = _insert_sql(self.conn, table) if self.sqlite else ""
        insert = table.insert()
        count = 0
        batch: list[tuple[Any, ...]] = []

        def flush() -> None:
            if self.sqlite:
                self.conn.exec_driver_sql(sql, batch)
            else:
                self.conn.execute(insert, [dict(zip(names, row, strict=True)) for row in batch])
            self.advance(len(batch))

        for row in rows:
            batch.append(row)
            if len(batch) >= WRITE_BATCH:
                flush()
                count += len(batch)
                batch = []
        if batch:
            flush()
            count += len(batch)
        return count


#: A table that an import grows at least this much (and more than it holds) gets its secondary
#: indexes built after the rows are in (SQLite only; see _defer_indexes).
DEFER_INDEXES_MIN_ROWS = 50_000


def _defer_indexes(conn: Connection, adding: Mapping[str, int]) -> list[str]:
    """Drop the secondary indexes of the tables this import fills; returns their DDL to rebuild.

    Building an index from the finished table (one sort) is several times faster than updating it
    row by row in random key order. Only on SQLite: the DROP and the CREATE are part of the import's
    transaction (readers keep seeing the old snapshot, with its indexes, until the commit; a failure
    rolls both back), and a UNIQUE index that cannot be rebuilt fails the whole import. Not on
    PostgreSQL, where DROP INDEX would lock readers out for the whole import. Indexes that back
    constraints (primary keys, UNIQUE constraints) are never dropped.
    """
    if conn.dialect.name != "sqlite":
        return []
    saved: list[str] = []
    for table, count in adding.items():
        if count < DEFER_INDEXES_MIN_ROWS:
            continue
        held = conn.exec_driver_sql(f'SELECT COUNT(*) FROM "{table}"').scalar_one()
        if count <= held:
            continue
        rows = conn.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master "
            "WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL",
            (table,),
        ).all()
        for name, sql in rows:
            conn.exec_driver_sql(f'DROP INDEX "{name}"')
            saved.append(sql)
    return saved


def _max_id(conn: Connection, table: Table) -> int:
    return conn.execute(select(func.max(table.c.id))).scalar() or 0


_ACCOUNT_T: Table = Account.__table__  # type: ignore[attr-defined]
_CONTACT_T: Table = Contact.__table__  # type: ignore[attr-defined]
_DOMAIN_T: Table = Domain.__table__  # type: ignore[attr-defined]
_ROLE_T: Table = DomainContact.__table__  # type: ignore[attr-defined]


class _Load:
    """The write transaction of one import: ids, rows, executemany, the audit event.

    Records come in file order, accounts before contacts before domains; references must already
    be known (`account_ids` and `contact_ids` hold those into the store). Ids: accounts and
    domains after the highest id; a contact whose handle is ILC<n> gets id n when n is free, so
    that our handles stay derived from our ids; other contacts get ids after all of those, given
    when the contacts are complete (`close_contacts`).
    """

    def __init__(self, store: Store, advance: Callable[[int], None] = lambda _n: None) -> None:
        self.stack = ExitStack()
        self.session = self.stack.enter_context(store.write())
        self.conn = self.session.connection()
        self.writer = _Writer(self.conn, advance)
        self.advance = advance
        self.not_house = _codec(self.conn.dialect.name)[2](False)
        house = self.conn.execute(
            select(_CONTACT_T.c.id, _CONTACT_T.c.handle).where(_CONTACT_T.c.is_house.is_(True))
        ).first()
        if house is None:
            self.stack.close()
            raise ImportFileError("this store has no house contact; open it with Store.open()")
        self.house_id, self.house_handle = house.id, house.handle
        self.next_account = _max_id(self.conn, _ACCOUNT_T) + 1
        self.first_free = _max_id(self.conn, _CONTACT_T) + 1
        self.next_domain = _max_id(self.conn, _DOMAIN_T) + 1
        self.account_ids: dict[str, int] = {}
        self.contact_ids: dict[str, int] = {self.house_handle: self.house_id}
        self.unclaimed: list[Any] = []
        self.max_claimed = 0
        self.rebuild: list[str] = []
        self.counts = dict.fromkeys(("accounts", "contacts", "domains", "roles"), 0)
        self.house_mapped = 0

    def defer_indexes(self, adding: Mapping[str, int]) -> list[str]:
        """Drop the secondary indexes of the tables this import fills (see _defer_indexes)."""
        dropped = _defer_indexes(self.conn, adding)
        self.rebuild.extend(dropped)
        return dropped

    def map_house(self, handle: str | None) -> None:
        """The file's house contact is this store's house contact."""
        if handle is not None:
            self.contact_ids[handle] = self.house_id
        self.house_mapped = 1
        self.advance(1)

    def add_accounts(self, values: list[Any]) -> None:
        rows = []
        for number, row in values:
            self.account_ids[number] = self.next_account
            rows.append((self.next_account, *row))
            self.next_account += 1
        self.counts["accounts"] += self.writer.write(_ACCOUNT_T, rows)

    def add_contacts(self, values: list[Any]) -> None:
        """Contacts other than the house contact; those without an id of their own wait."""
        rows = []
        for value in values:
            handle = value[0]
            match = _OWN_HANDLE.match(handle) if handle else None
            claimed = int(match.group(1)) if match else 0
            if self.first_free <= claimed <= _MAX_CLAIMED_ID:
                self.max_claimed = max(self.max_claimed, claimed)
                self.contact_ids[handle] = claimed
                rows.append(self._contact_row(claimed, handle, value))
            else:
                self.unclaimed.append(value)
        self.counts["contacts"] += self.writer.write(_CONTACT_T, rows)

    def close_contacts(self) -> None:
        """Give the waiting contacts the ids after every claimed one, and write them."""
        next_id = max(self.first_free - 1, self.max_claimed) + 1
        rows = []
        for value in self.unclaimed:
            handle = value[0] or contact_handle(next_id)
            if value[0] is not None:
                self.contact_ids[value[0]] = next_id
            rows.append(self._contact_row(next_id, handle, value))
            next_id += 1
        self.unclaimed = []
        self.counts["contacts"] += self.writer.write(_CONTACT_T, rows)

    def _contact_row(self, contact_id: int, handle: str, value: Any) -> tuple[Any, ...]:
        _handle, number, _house, head, tail = value
        account_id = self.account_ids[number] if number is not None else None
        return (contact_id, handle, *head, account_id, self.not_house, *tail)

    def add_domains(self, values: list[Any]) -> None:
        rows, roles = [], []
        for _name, number, given, head, tail in values:
            domain_id = self.next_domain
            self.next_domain += 1
            rows.append((domain_id, *head, self.account_ids[number], *tail))
            if "tech" not in given:
                given = {**given, "tech": self.house_handle}
            roles.extend((domain_id, role, self.contact_ids[h]) for role, h in given.items())
        self.counts["domains"] += self.writer.write(_DOMAIN_T, rows)
        self.counts["roles"] += self.writer.write(_ROLE_T, roles)

    def finish(self, report: ImportReport, actor: str) -> None:
        """Rebuild the deferred indexes, write the audit event, commit."""
        try:
            for sql in self.rebuild:
                self.conn.exec_driver_sql(sql)
            if self.conn.dialect.name == "postgresql":
                # Ids were given, not drawn from the sequences: move the sequences past them.
                for table in (_ACCOUNT_T, _CONTACT_T, _DOMAIN_T):
                    self.conn.exec_driver_sql(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                        f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {table.name}), false)"
                    )
            report.accounts = self.counts["accounts"]
            report.contacts = self.counts["contacts"]
            report.domains = self.counts["domains"]
            report.roles = self.counts["roles"]
            report.house_mapped = self.house_mapped
            audit.record(
                self.session,
                actor=actor,
                action="store.import",
                entity_type="store",
                entity_id=report.source[:64],
                changes={
                    "file": report.source,
                    **report.counts(),
                    "house_contact_mapped": report.house_mapped,
                    "rejected": dict(report.rejected),
                },
            )
        except BaseException:
            self.abort()
            raise
        self.stack.close()  # commits

    def abort(self) -> None:
        """Roll everything back."""
        self.stack.__exit__(_RolledBack, _RolledBack(), None)


class _RolledBack(Exception):
    """Thrown into the write transaction to roll it back."""


def _write(
    store: Store,
    checked: _Checked,
    links: _Links,
    report: ImportReport,
    *,
    actor: str,
    progress: Progress | None,
) -> None:
    """Insert every good record in one transaction, with the one audit event of the import."""
    house_index = checked.meta.get("house_index")
    accounts = [v for v in checked.accounts if v is not None]
    contacts = [v for i, v in enumerate(checked.contacts) if v is not None and i != house_index]
    domains = [v for v in checked.domains if v is not None]
    task = None
    if progress is not None:
        total = len(accounts) + len(contacts) + 3 * len(domains)
        task = progress.add_task("writing", total=total or 1)

    def advance(n: int) -> None:
        if task is not None:
            progress.advance(task, n)

    load = _Load(store, advance)
    try:
        load.defer_indexes(
            {
                "account": len(accounts),
                "contact": len(contacts),
                "domain": len(domains),
                "domain_contact": 2 * len(domains),
            }
        )
        load.account_ids.update(links.accounts)
        load.contact_ids.update(links.contacts)
        if house_index is not None and checked.contacts[house_index] is not None:
            load.map_house(checked.contacts[house_index][0])
        for i in range(0, len(accounts), WRITE_BATCH):
            load.add_accounts(accounts[i : i + WRITE_BATCH])
        for i in range(0, len(contacts), WRITE_BATCH):
            load.add_contacts(contacts[i : i + WRITE_BATCH])
        load.close_contacts()
        for i in range(0, len(domains), WRITE_BATCH):
            load.add_domains(domains[i : i + WRITE_BATCH])
    except BaseException:
        load.abort()
        raise
    load.finish(report, actor)
    if task is not None:
        progress.remove_task(task)


class _Abandon(Exception):
    """The file is not perfect: the streaming load gives up (see _Streaming)."""


class _Streaming:
    """Writes a large file while it is being checked, betting that every record is good.

    Most large imports are exports of another store: every record is good. Then the rows are
    written batch by batch as the workers return them, in the same transaction, with the same
    ids and rows as the two-step import (check everything, then write), and the time of writing
    hides behind the time of checking. At the first sign of trouble (a bad record, a duplicate, a
    reference to something unknown, sections out of order) it stops writing; at the end it rolls
    back, and the import goes the two-step way, which reports every problem or (skip_invalid)
    writes the good records. It holds the store's write lock for the whole import.
    """

    def __init__(self, store: Store, size: int) -> None:
        self.load = _Load(store)
        self.failed = False
        self.section: str | None = None
        self.house_seen = False
        self.numbers: set[str] = set()
        self.handles: set[str] = set()
        self.names: set[str] = set()
        try:
            conn = self.load.conn
            estimate = size // 300  # records, roughly
            adding = {
                "account": estimate // 8,
                "contact": estimate // 2,
                "domain": estimate // 3,
                "domain_contact": 2 * estimate // 3,
            }
            # Look-ups into the store must not need an index that is about to be dropped: the
            # keys of those tables (small next to the import, or they would keep their indexes)
            # are read first.
            held = {
                table: conn.exec_driver_sql(f'SELECT COUNT(*) FROM "{table}"').scalar_one()
                for table in adding
            }
            deferred = {t for t, n in adding.items() if n >= DEFER_INDEXES_MIN_ROWS and n > held[t]}
            self.store_numbers = self._keys(_ACCOUNT_T.c.number, preload="account" in deferred)
            self.store_handles = self._keys(_CONTACT_T.c.handle, preload="contact" in deferred)
            self.store_names = self._keys(_DOMAIN_T.c.name, preload=False)  # a UNIQUE constraint
            if conn.dialect.name == "sqlite":
                self.load.defer_indexes({t: n for t, n in adding.items() if t in deferred})
        except BaseException:
            self.load.abort()
            raise

    def _keys(self, column: Any, *, preload: bool) -> Callable[[list[str]], dict[str, int]]:
        """A look-up {key: id} of store rows, by index, or from memory when `preload`."""
        conn = self.load.conn
        id_column = column.table.c.id
        if preload:
            known = dict(conn.execute(select(column, id_column)).all())
            return lambda keys: {k: known[k] for k in keys if k in known}

        def look(keys: list[str]) -> dict[str, int]:
            found: dict[str, int] = {}
            for i in range(0, len(keys), 500):
                chunk = keys[i : i + 500]
                found.update(conn.execute(select(column, id_column).where(column.in_(chunk))).all())
            return found

        return look

    def feed(self, section: str, results: list[Any]) -> None:
        """A checked batch, in file order."""
        if self.failed:
            return
        try:
            if any(errors for _value, errors, _label in results):
                raise _Abandon
            if section != self.section:
                if self.section is not None and SECTIONS.index(section) < SECTIONS.index(
                    self.section
                ):
                    raise _Abandon  # out of order: references could point forward
                if self.section == "contacts":
                    self.load.close_contacts()
                self.section = section
            values = [value for value, _errors, _label in results]
            getattr(self, "_" + section)(values)
        except _Abandon:
            self.failed = True

    def _fresh(self, keys: list[str], seen: set[str], store: Callable) -> None:
        """Every key new: not twice in the file, not in the store."""
        before = len(seen)
        seen.update(keys)
        if len(seen) != before + len(keys) or store(keys):
            raise _Abandon

    def _refer(self, ids: dict[str, int], wanted: set[str], store: Callable) -> None:
        """References that are not in the file must be in the store."""
        missing = [k for k in wanted if k not in ids]
        if missing:
            found = store(missing)
            if len(found) != len(missing):
                raise _Abandon
            ids.update(found)

    def _accounts(self, values: list[Any]) -> None:
        self._fresh([v[0] for v in values], self.numbers, self.store_numbers)
        self.load.add_accounts(values)

    def _contacts(self, values: list[Any]) -> None:
        own = []
        for value in values:
            if value[2]:  # the house contact
                if self.house_seen:
                    raise _Abandon
                self.house_seen = True
                if value[0] is not None:
                    self._fresh([value[0]], self.handles, lambda _keys: {})
                self.load.map_house(value[0])
            else:
                own.append(value)
        self._fresh([v[0] for v in own if v[0] is not None], self.handles, self.store_handles)
        self._refer(
            self.load.account_ids,
            {v[1] for v in own if v[1] is not None},
            self.store_numbers,
        )
        self.load.add_contacts(own)

    def _domains(self, values: list[Any]) -> None:
        self._fresh([v[0] for v in values], self.names, self.store_names)
        self._refer(self.load.account_ids, {v[1] for v in values}, self.store_numbers)
        self._refer(
            self.load.contact_ids,
            {h for v in values for h in v[2].values()},
            self.store_handles,
        )
        self.load.add_domains(values)

    def finish(self, report: ImportReport, actor: str) -> bool:
        """Commit if every record was good; else roll back (False)."""
        if self.failed:
            self.load.abort()
            return False
        try:
            if self.section == "contacts":
                self.load.close_contacts()
        except BaseException:
            self.load.abort()
            raise
        self.load.finish(report, actor)
        return True


# -- import --------------------------------------------------------------------------------------


def import_records(
    store: Store,
    path: Path,
    *,
    actor: str,
    skip_invalid: bool = False,
    rejects_path: Path | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Import an export file: all-or-nothing unless `skip_invalid` (see the module text)."""
    path = Path(path)
    actor = audit.check_actor(actor)
    if not path.is_file():
        raise ImportFileError(f"{path} does not exist or is not a file")
    try:
        with _without_cyclic_gc():
            return _import(store, path, actor, skip_invalid, rejects_path, progress)
    except IntegrityError as exc:
        raise _changed_meanwhile(exc) from None
    except OperationalError as exc:  # e.g. the store is locked by another writer, disk full
        reason = str(exc.orig).splitlines()[0] if exc.orig else str(exc).splitlines()[0]
        raise ImportFileError(
            f"the store could not be written ({reason}); nothing was imported"
        ) from None


def _import(
    store: Store,
    path: Path,
    actor: str,
    skip_invalid: bool,
    rejects_path: Path | None,
    progress: Progress | None,
) -> ImportReport:
    started = time.perf_counter()
    report = ImportReport(source=path.name)
    now = utcnow()
    checked = _Checked()
    size = path.stat().st_size
    parallel = size >= PARALLEL_MIN_BYTES and (os.cpu_count() or 1) > 1
    streaming = _Streaming(store, size) if parallel and STREAMING else None
    try:
        _read_and_check(
            path,
            checked,
            now=now,
            dialect_name=store.engine.dialect.name,
            parallel=parallel,
            streaming=streaming,
            progress=progress,
        )
    except BaseException:
        if streaming is not None:
            streaming.load.abort()
        raise
    report.timings["check"] = time.perf_counter() - started
    if streaming is not None:
        finishing = time.perf_counter()
        if streaming.finish(report, actor):
            report.written = True
            report.timings["write (after the check)"] = time.perf_counter() - finishing
            report.seconds = time.perf_counter() - started
            return report
    links = _resolve(store, checked)
    report.timings["resolve"] = time.perf_counter() - started - sum(report.timings.values())

    for (section, index), reasons in sorted(
        checked.reasons.items(), key=lambda item: (SECTIONS.index(item[0][0]), item[0][1])
    ):
        where = checked.where(section, index)
        report.problems.extend(f"{where}: {reason}" for reason in reasons)
        report.rejected[section] += 1

    if checked.reasons and (skip_invalid or rejects_path is not None):
        target = rejects_path or path.with_name(path.stem + ".rejects.json")
        _write_rejects(path, target, checked)
        report.rejects_path = target
    if checked.reasons and not skip_invalid:
        report.seconds = time.perf_counter() - started
        return report
    writing = time.perf_counter()
    _write(store, checked, links, report, actor=actor, progress=progress)
    report.written = True
    report.timings["write"] = time.perf_counter() - writing
    report.seconds = time.perf_counter() - started
    return report


@contextmanager
def _without_cyclic_gc() -> Iterator[None]:
    """No cyclic garbage collection while millions of checked records pile up in memory.

    They hold no reference cycles (tuples of strings, freed by reference counting), but every
    collection of the oldest generation walks all of them: at a million domains that was a third
    of the main process's time. Collection resumes (and catches up) afterwards.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _changed_meanwhile(exc: IntegrityError) -> ImportFileError:
    return ImportFileError(
        "the store changed while the file was being checked (another change added a record "
        "the file also holds); nothing was imported, run the import again "
        f"({str(exc.orig).splitlines()[0] if exc.orig else exc})"
    )


def _write_rejects(path: Path, target: Path, checked: _Checked) -> None:
    """The rejected records as they were in the file, each with its reasons."""
    out: dict[str, list[dict[str, Any]]] = {section: [] for section in SECTIONS}
    wanted = {section: {} for section in SECTIONS}  # type: dict[str, dict[int, list[str]]]
    for (section, index), reasons in checked.reasons.items():
        wanted[section][index] = reasons
    with path.open("rb") as stream:
        reader = _Reader(stream, path.name, lambda _n: None)
        for key, value in reader.top():
            if key not in SECTIONS:
                continue
            for index, record in enumerate(value):
                reasons = wanted[key].get(index)
                if reasons is not None:
                    out[key].append({"index": index, "reasons": reasons, "record": record})
    tmp = target.with_name(target.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as stream:
        stream.write(f'{{"format": "interlink-rejects", "version": {VERSION}, ')
        stream.write(f'"source": {json.dumps(path.name, ensure_ascii=False)}')
        for section in SECTIONS:
            stream.write(f',\n"{section}": [')
            for n, item in enumerate(out[section]):
                stream.write("\n" if n == 0 else ",\n")
                stream.write(json.dumps(item, ensure_ascii=False))
            stream.write("\n]" if out[section] else "]")
        stream.write("}\n")
    tmp.replace(target)


# -- export --------------------------------------------------------------------------------------

PAGE = 5000


def _iso(value: datetime | None) -> str | None:
    """ISO 8601 UTC with Z (SQLite gives naive datetimes, stored in UTC)."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat() + "Z"


def _pages(conn: Connection, stmt: Any, id_column: Any) -> Iterator[list[Any]]:
    """Rows of `stmt` in id order, a page at a time (keyset paging, never OFFSET)."""
    last = 0
    while True:
        rows = conn.execute(stmt.where(id_column > last).order_by(id_column).limit(PAGE)).all()
        if not rows:
            return
        yield rows
        last = rows[-1].id


def export_records(store: Store, path: Path, *, progress: Progress | None = None) -> dict[str, int]:
    """Write every account, contact and domain (with roles) to `path`; returns the counts."""
    path = Path(path)
    acc = Account.__table__.c  # type: ignore[attr-defined]
    con = Contact.__table__.c  # type: ignore[attr-defined]
    dom = Domain.__table__.c  # type: ignore[attr-defined]
    dc = DomainContact.__table__.c  # type: ignore[attr-defined]
    counts = dict.fromkeys(SECTIONS, 0)
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": ")).encode
    tmp = path.with_name(path.name + ".tmp")
    options = {} if store.is_sqlite else {"isolation_level": "REPEATABLE READ"}
    with store.engine.connect().execution_options(**options) as conn, conn.begin():
        # One read transaction: a consistent snapshot of the whole store.
        totals = {
            section: conn.execute(select(func.count()).select_from(table)).scalar_one()
            for section, table in (
                ("accounts", acc.id.table),
                ("contacts", con.id.table),
                ("domains", dom.id.table),
            )
        }
        task = None
        if progress is not None:
            task = progress.add_task(f"exporting to {path.name}", total=sum(totals.values()) or 1)
        with tmp.open("w", encoding="utf-8") as out:
            out.write(f'{{"format": "{FORMAT}", "version": {VERSION}, ')
            out.write(f'"exported_at": "{_iso(utcnow().replace(microsecond=0))}"')

            def section(name: str, pages: Iterator[list[Any]], encode: Callable) -> None:
                out.write(f',\n"{name}": [')
                first = True
                for rows in pages:
                    for record in encode(rows):
                        out.write("\n" if first else ",\n")
                        out.write(dumps(record))
                        first = False
                    counts[name] += len(rows)
                    if task is not None:
                        progress.advance(task, len(rows))
                out.write("]" if first else "\n]")

            section(
                "accounts",
                _pages(conn, select(*acc.id.table.columns), acc.id),
                lambda rows: (_account_record(r) for r in rows),
            )
            section(
                "contacts",
                _pages(
                    conn,
                    select(*con.id.table.columns, acc.number.label("account_number")).outerjoin(
                        acc.id.table, acc.id == con.account_id
                    ),
                    con.id,
                ),
                lambda rows: (_contact_record(r) for r in rows),
            )

            def domain_records(rows: list[Any]) -> Iterator[dict[str, Any]]:
                roles: dict[int, dict[str, str]] = {}
                for domain_id, role, handle in conn.execute(
                    select(dc.domain_id, dc.role, con.handle)
                    .join(con.id.table, con.id == dc.contact_id)
                    .where(dc.domain_id.between(rows[0].id, rows[-1].id))
                ):
                    roles.setdefault(domain_id, {})[role] = handle
                for row in rows:
                    record = _domain_record(row)
                    given = roles.get(row.id, {})
                    record["contacts"] = {r: given[r] for r in validation.ROLES if r in given}
                    yield record

            section(
                "domains",
                _pages(
                    conn,
                    select(*dom.id.table.columns, acc.number.label("account_number")).join(
                        acc.id.table, acc.id == dom.account_id
                    ),
                    dom.id,
                ),
                domain_records,
            )
            out.write("}\n")
        if task is not None:
            progress.remove_task(task)
    tmp.replace(path)
    return counts


def _account_record(row: Any) -> dict[str, Any]:
    return {
        "number": row.number,
        "name": row.name,
        "email": row.email,
        "phone": row.phone,
        "street": list(row.street or []),
        "city": row.city,
        "state": row.state,
        "postal_code": row.postal_code,
        "country": row.country,
        "status": row.status,
        "marketing_opt_out_at": _iso(row.marketing_opt_out_at),
        "marketing_opt_out_via": row.marketing_opt_out_via,
        "created_at": _iso(row.created_at),
    }


def _contact_record(row: Any) -> dict[str, Any]:
    return {
        "handle": row.handle,
        "kind": row.kind,
        "name": row.name,
        "org": row.org,
        "street": list(row.street or []),
        "city": row.city,
        "state": row.state,
        "postal_code": row.postal_code,
        "country": row.country,
        "voice": row.voice,
        "voice_ext": row.voice_ext,
        "fax": row.fax,
        "fax_ext": row.fax_ext,
        "email": row.email,
        "consent_fields": list(row.consent_fields or []),
        "consent_at": _iso(row.consent_at),
        "consent_method": row.consent_method,
        "account": row.account_number,
        "house": bool(row.is_house),
        "created_at": _iso(row.created_at),
    }


def _domain_record(row: Any) -> dict[str, Any]:
    return {
        "name": row.unicode_name,
        "account": row.account_number,
        "roid": row.roid,
        "statuses": list(row.statuses or []),
        "nameservers": list(row.nameservers or []),
        "dnssec": bool(row.dnssec),
        "created_at": _iso(row.created_at),
        "expires_at": _iso(row.expires_at),
        "updated_at": _iso(row.updated_at),
    }


__all__ = [
    "FORMAT",
    "VERSION",
    "ImportFileError",
    "ImportReport",
    "export_records",
    "import_records",
]
