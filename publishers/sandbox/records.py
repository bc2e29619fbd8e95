"""The sandbox's objects as tests see them (contacts, domains, hosts, snapshots), from its rows."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime

from publishers.epp.model import (
    DISCLOSABLE,
    Address,
    ContactData,
    Disclose,
    DsData,
    PostalInfo,
    PostalType,
)

ROID_SUFFIX = "SBX"


@dataclass(frozen=True, kw_only=True)
class SandboxContact:
    """A contact as the sandbox holds it: its postal items of type postal_type (the "loc" ones
    when it has both) and, beside "loc" ones, the "int" postalInfo (ascii_form)."""

    id: str
    roid: str
    sponsor: str
    creator: str
    updater: str | None
    postal_type: str
    name: str
    org: str | None
    street: tuple[str, ...]
    city: str
    sp: str | None
    pc: str | None
    cc: str
    voice: str | None
    voice_ext: str | None
    fax: str | None
    fax_ext: str | None
    email: str
    auth_info: str
    disclose: Disclose | None
    statuses: tuple[str, ...]
    """Client-set statuses only (an empty tuple is status "ok")."""
    cr_date: datetime
    up_date: datetime | None
    ascii_form: PostalInfo | None = None

    @property
    def postal_infos(self) -> tuple[PostalInfo, ...]:
        """Its postalInfo of each type: "int" first, then "loc"."""
        return self.as_contact_data().postal_infos

    def as_contact_data(self) -> ContactData:
        """The contact as the codec's ContactData."""
        return ContactData(
            handle=self.id,
            name=self.name,
            org=self.org,
            street=self.street,
            city=self.city,
            sp=self.sp,
            pc=self.pc,
            cc=self.cc,
            voice=self.voice,
            voice_ext=self.voice_ext,
            fax=self.fax,
            fax_ext=self.fax_ext,
            email=self.email,
            auth_info=self.auth_info,
            postal_type="loc" if self.postal_type == "loc" else "int",
            ascii_form=self.ascii_form if self.postal_type == "loc" else None,
        )


@dataclass(frozen=True, kw_only=True)
class SandboxDomain:
    """A domain as the sandbox holds it; contacts as (type, handle) in the order they were added."""

    name: str
    roid: str
    sponsor: str
    registrant: str | None
    contacts: tuple[tuple[str, str], ...]
    ns: tuple[str, ...]
    statuses: tuple[str, ...]
    auth_info: str
    cr_date: datetime
    ex_date: datetime | None
    up_date: datetime | None
    ds: tuple[DsData, ...] = ()
    """The secDNS-1.1 DS records, in the order they were added."""

    def handles(self, role: str) -> tuple[str, ...]:
        """The handles of one contact type (admin, billing, tech)."""
        return tuple(handle for kind, handle in self.contacts if kind == role)


@dataclass(frozen=True, kw_only=True)
class SandboxHost:
    """A host object (name server) as the sandbox holds it; addrs are its glue addresses."""

    name: str
    roid: str
    sponsor: str
    creator: str
    addrs: tuple[str, ...]
    cr_date: datetime
    up_date: datetime | None


@dataclass(frozen=True)
class SandboxSnapshot:
    """Everything the sandbox holds: contacts by id, domains and hosts by name."""

    contacts: dict[str, SandboxContact]
    domains: dict[str, SandboxDomain]
    hosts: dict[str, SandboxHost] = field(default_factory=dict)


def date_or_none(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def words(value: str) -> tuple[str, ...]:
    return tuple(value.split())


def disclose_text(disclose: Disclose | None) -> str | None:
    if disclose is None:
        return None
    return "".join("1" if getattr(disclose, item) else "0" for item in DISCLOSABLE)


def disclose_value(text: str | None) -> Disclose | None:
    if text is None:
        return None
    return Disclose(**{item: flag == "1" for item, flag in zip(DISCLOSABLE, text, strict=True)})


def postal_text(info: PostalInfo | None) -> str | None:
    """A postalInfo as the JSON text of its column (None for none)."""
    if info is None:
        return None
    addr = info.addr
    return json.dumps(
        {
            "type": info.type,
            "name": info.name,
            "org": info.org,
            "street": list(addr.street),
            "city": addr.city,
            "sp": addr.sp,
            "pc": addr.pc,
            "cc": addr.cc,
        }
    )


def postal_value(text: str | None) -> PostalInfo | None:
    """The postalInfo of a column's JSON text."""
    if not text:
        return None
    data = json.loads(text)
    address = Address(
        street=tuple(data["street"]), city=data["city"], sp=data["sp"], pc=data["pc"], cc=data["cc"]
    )
    kind: PostalType = "loc" if data["type"] == "loc" else "int"
    return PostalInfo(type=kind, name=data["name"], org=data["org"], addr=address)


def contact_record(row: sqlite3.Row) -> SandboxContact:
    return SandboxContact(
        id=row["id"],
        roid=f"C{row['seq']}-{ROID_SUFFIX}",
        sponsor=row["cl_id"],
        creator=row["cr_id"],
        updater=row["up_id"],
        postal_type=row["postal_type"],
        name=row["name"],
        org=row["org"],
        street=tuple(line for line in (row["street1"], row["street2"], row["street3"]) if line),
        city=row["city"],
        sp=row["sp"],
        pc=row["pc"],
        cc=row["cc"],
        voice=row["voice"],
        voice_ext=row["voice_ext"],
        fax=row["fax"],
        fax_ext=row["fax_ext"],
        email=row["email"],
        auth_info=row["auth_info"],
        disclose=disclose_value(row["disclose"]),
        statuses=words(row["statuses"]),
        cr_date=datetime.fromisoformat(row["cr_date"]),
        up_date=date_or_none(row["up_date"]),
        ascii_form=postal_value(row["int_form"]),
    )


def host_record(row: sqlite3.Row) -> SandboxHost:
    return SandboxHost(
        name=row["name"],
        roid=f"H{row['seq']}-{ROID_SUFFIX}",
        sponsor=row["cl_id"],
        creator=row["cr_id"],
        addrs=words(row["addrs"]),
        cr_date=datetime.fromisoformat(row["cr_date"]),
        up_date=date_or_none(row["up_date"]),
    )


def domain_record(
    row: sqlite3.Row, contacts: tuple[tuple[str, str], ...], ds: tuple[DsData, ...] = ()
) -> SandboxDomain:
    return SandboxDomain(
        name=row["name"],
        roid=f"D{row['seq']}-{ROID_SUFFIX}",
        sponsor=row["cl_id"],
        registrant=row["registrant"],
        contacts=contacts,
        ns=words(row["ns"]),
        statuses=words(row["statuses"]),
        auth_info=row["auth_info"],
        cr_date=datetime.fromisoformat(row["cr_date"]),
        ex_date=date_or_none(row["ex_date"]),
        up_date=date_or_none(row["up_date"]),
        ds=ds,
    )
