"""Typed values that EPP frames are built from and parsed into (RFC 5730-5733, RFC 5910)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

EPP_NS = "urn:ietf:params:xml:ns:epp-1.0"
EPPCOM_NS = "urn:ietf:params:xml:ns:eppcom-1.0"
CONTACT_NS = "urn:ietf:params:xml:ns:contact-1.0"
DOMAIN_NS = "urn:ietf:params:xml:ns:domain-1.0"
HOST_NS = "urn:ietf:params:xml:ns:host-1.0"
SECDNS_NS = "urn:ietf:params:xml:ns:secDNS-1.1"

OBJECT_NAMES = {CONTACT_NS: "contact", DOMAIN_NS: "domain", HOST_NS: "host"}
DEFAULT_OBJ_URIS = (DOMAIN_NS, CONTACT_NS, HOST_NS)

PostalType = Literal["int", "loc"]
ContactRole = Literal["admin", "billing", "tech"]
DomainContact = tuple[str, str]
"""A domain contact as (type, handle), type one of admin, billing, tech."""

DISCLOSABLE = ("name", "org", "addr", "voice", "fax", "email")
"""The disclosable items of contact-1.0, in schema order."""


# ---------------------------------------------------------------- contacts


@dataclass(frozen=True, kw_only=True)
class Address:
    """A <contact:addr>: 0..3 street lines, city, state/province, postal code, country code."""

    street: tuple[str, ...] = ()
    city: str
    sp: str | None = None
    pc: str | None = None
    cc: str


@dataclass(frozen=True, kw_only=True)
class PostalInfo:
    """A <contact:postalInfo> of type int (ASCII) or loc (localized)."""

    type: PostalType = "int"
    name: str
    org: str | None = None
    addr: Address


@dataclass(frozen=True, kw_only=True)
class Disclose:
    """Which disclosable contact items are PUBLIC; the default keeps everything private."""

    name: bool = False
    org: bool = False
    addr: bool = False
    voice: bool = False
    fax: bool = False
    email: bool = False

    def private_items(self) -> tuple[str, ...]:
        """The items that must not be disclosed, in schema order."""
        return tuple(item for item in DISCLOSABLE if not getattr(self, item))

    def public_items(self) -> tuple[str, ...]:
        """The items that may be disclosed, in schema order."""
        return tuple(item for item in DISCLOSABLE if getattr(self, item))


@dataclass(frozen=True, kw_only=True)
class ContactData:
    """A contact as sent in <contact:create>; phones in EPP form +CC.NNNN, extensions apart.

    The postal items are the contact's own, as given: postalInfo "int" when they are all ASCII,
    else "loc" with `ascii_form`, their ASCII form, as the "int" one beside it (RFC 5733 §2.5).
    """

    handle: str
    name: str
    org: str | None = None
    street: tuple[str, ...] = ()
    city: str
    sp: str | None = None
    pc: str | None = None
    cc: str
    voice: str | None = None
    voice_ext: str | None = None
    fax: str | None = None
    fax_ext: str | None = None
    email: str
    auth_info: str
    postal_type: PostalType = "int"
    ascii_form: PostalInfo | None = None
    """The "int" postalInfo sent beside the "loc" one (postal_type "loc" only)."""

    def __post_init__(self) -> None:
        form = self.ascii_form
        if form is not None and (self.postal_type != "loc" or form.type != "int"):
            raise ValueError('an ASCII form ("int") goes only beside a "loc" postalInfo')

    @property
    def postal_info(self) -> PostalInfo:
        """The contact's postal items as given (type postal_type)."""
        address = Address(street=self.street, city=self.city, sp=self.sp, pc=self.pc, cc=self.cc)
        return PostalInfo(type=self.postal_type, name=self.name, org=self.org, addr=address)

    @property
    def postal_infos(self) -> tuple[PostalInfo, ...]:
        """Every postalInfo sent: the "int" one, then the "loc" one when there is one."""
        if self.ascii_form is None:
            return (self.postal_info,)
        return (self.ascii_form, self.postal_info)

    def postal(self, type_: PostalType) -> PostalInfo | None:
        """The postalInfo of one type, None when the contact has none of it."""
        return next((info for info in self.postal_infos if info.type == type_), None)


@dataclass(frozen=True, kw_only=True)
class ContactCreate:
    """The payload of a <contact:create> command."""

    contact: ContactData
    disclose: Disclose | None = None


@dataclass(frozen=True, kw_only=True)
class PostalChange:
    """One <contact:postalInfo> of a <contact:chg>: None leaves an item as it is, "" clears org."""

    type: PostalType = "int"
    name: str | None = None
    org: str | None = None
    addr: Address | None = None

    def is_empty(self) -> bool:
        """True when it changes no item."""
        return self.name is None and self.org is None and self.addr is None


@dataclass(frozen=True, kw_only=True)
class ContactChange:
    """The <contact:chg> of an update: None leaves an item as it is, "" clears org, voice or fax.

    postal holds one PostalChange per postalInfo type changed (at most "int" and "loc");
    disclose_types are the postalInfo types the disclose flags of name, org and addr cover.
    """

    postal: tuple[PostalChange, ...] = ()
    voice: str | None = None
    voice_ext: str | None = None
    fax: str | None = None
    fax_ext: str | None = None
    email: str | None = None
    auth_info: str | None = None
    disclose: Disclose | None = None
    disclose_types: tuple[PostalType, ...] = ("int",)

    @classmethod
    def from_contact(cls, contact: ContactData, disclose: Disclose | None = None) -> ContactChange:
        """A change that replaces every registry-side item with those of contact."""
        infos = contact.postal_infos
        return cls(
            postal=tuple(
                PostalChange(type=info.type, name=info.name, org=info.org or "", addr=info.addr)
                for info in infos
            ),
            voice=contact.voice or "",
            voice_ext=contact.voice_ext if contact.voice else None,
            fax=contact.fax or "",
            fax_ext=contact.fax_ext if contact.fax else None,
            email=contact.email,
            auth_info=contact.auth_info,
            disclose=disclose,
            disclose_types=tuple(info.type for info in infos),
        )

    def is_empty(self) -> bool:
        """True when the change would not change anything."""
        return all(change.is_empty() for change in self.postal) and all(
            value is None
            for value in (
                self.voice,
                self.fax,
                self.email,
                self.auth_info,
                self.disclose,
            )
        )


@dataclass(frozen=True, kw_only=True)
class ContactUpdate:
    """The payload of a <contact:update> command."""

    handle: str
    add_statuses: tuple[str, ...] = ()
    rem_statuses: tuple[str, ...] = ()
    change: ContactChange | None = None


@dataclass(frozen=True, kw_only=True)
class ContactInfoQuery:
    """The payload of a <contact:info> command."""

    handle: str
    auth_info: str | None = None


@dataclass(frozen=True, kw_only=True)
class ContactInfo:
    """The <contact:infData> of an info response."""

    handle: str
    roid: str
    statuses: tuple[str, ...]
    postal_info: tuple[PostalInfo, ...]
    voice: str | None = None
    voice_ext: str | None = None
    fax: str | None = None
    fax_ext: str | None = None
    email: str
    cl_id: str
    cr_id: str
    cr_date: datetime
    up_id: str | None = None
    up_date: datetime | None = None
    tr_date: datetime | None = None
    auth_info: str | None = None
    disclose: Disclose | None = None

    def postal(self, type_: PostalType) -> PostalInfo | None:
        """The postalInfo of one type, None when the registry holds none of it."""
        return next((info for info in self.postal_info if info.type == type_), None)

    @property
    def localized(self) -> PostalInfo | None:
        """The postal items as given: the "loc" postalInfo when there is one, else the "int"."""
        return self.postal("loc") or self.postal("int")


@dataclass(frozen=True, kw_only=True)
class ContactCreated:
    """The <contact:creData> of a create response."""

    handle: str
    cr_date: datetime


# ---------------------------------------------------------------- domains


@dataclass(frozen=True, kw_only=True)
class DomainCreate:
    """The payload of a <domain:create> command; ns are host object names."""

    name: str
    period: int | None = 1
    period_unit: Literal["y", "m"] = "y"
    ns: tuple[str, ...] = ()
    registrant: str | None = None
    contacts: tuple[DomainContact, ...] = ()
    auth_info: str


@dataclass(frozen=True, order=True)
class DsData:
    """One secDNS-1.1 <secDNS:dsData> (RFC 5910): key tag, algorithm, digest type, digest in
    upper-case hex."""

    key_tag: int
    alg: int
    digest_type: int
    digest: str

    def __post_init__(self) -> None:
        if not 0 <= self.key_tag <= 65535:
            raise ValueError(f"DS key tag must be 0..65535, got {self.key_tag}")
        for label, value in (("algorithm", self.alg), ("digest type", self.digest_type)):
            if not 0 <= value <= 255:
                raise ValueError(f"DS {label} must be 0..255, got {value}")
        digest = self.digest.strip().upper()
        if not digest or len(digest) % 2 or any(c not in "0123456789ABCDEF" for c in digest):
            raise ValueError("DS digest must be an even number of hexadecimal digits")
        object.__setattr__(self, "digest", digest)


@dataclass(frozen=True)
class HostAttr:
    """A name server given as <domain:hostAttr> (RFC 5731): its name and glue addresses."""

    name: str
    addrs: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class DomainUpdate:
    """The payload of a <domain:update>; a tech move adds the new tech and removes the old one.

    Name servers go as host objects (add_ns, rem_ns) or, to a registry without host objects,
    as host attributes (add_host_attrs, rem_host_attrs), never both in one group. add_ds and
    rem_ds go in the secDNS-1.1 extension (RFC 5910)."""

    name: str
    add_ns: tuple[str, ...] = ()
    add_contacts: tuple[DomainContact, ...] = ()
    add_statuses: tuple[str, ...] = ()
    rem_ns: tuple[str, ...] = ()
    rem_contacts: tuple[DomainContact, ...] = ()
    rem_statuses: tuple[str, ...] = ()
    registrant: str | None = None
    """None leaves the registrant as it is; "" removes it (schema clIDChgType)."""
    add_host_attrs: tuple[HostAttr, ...] = ()
    rem_host_attrs: tuple[HostAttr, ...] = ()
    add_ds: tuple[DsData, ...] = ()
    rem_ds: tuple[DsData, ...] = ()
    rem_all_ds: bool = False
    """Remove every DS record (secDNS-1.1 ``<secDNS:rem><secDNS:all>true``), instead of rem_ds."""

    def is_empty(self) -> bool:
        """True when the update would not change anything."""
        return (
            self.registrant is None
            and not self.rem_all_ds
            and not (
                self.add_ns
                or self.add_contacts
                or self.add_statuses
                or self.rem_ns
                or self.rem_contacts
                or self.rem_statuses
                or self.add_host_attrs
                or self.rem_host_attrs
                or self.add_ds
                or self.rem_ds
            )
        )

    @property
    def has_ds(self) -> bool:
        """True when the update carries a secDNS-1.1 extension."""
        return bool(self.add_ds or self.rem_ds or self.rem_all_ds)

    def all_add_ns(self) -> tuple[str, ...]:
        """The names of every name server added, host objects or attributes."""
        return (*self.add_ns, *(attr.name for attr in self.add_host_attrs))

    def all_rem_ns(self) -> tuple[str, ...]:
        """The names of every name server removed, host objects or attributes."""
        return (*self.rem_ns, *(attr.name for attr in self.rem_host_attrs))


@dataclass(frozen=True, kw_only=True)
class DomainInfoQuery:
    """The payload of a <domain:info> command."""

    name: str
    hosts: Literal["all", "del", "none", "sub"] = "all"
    auth_info: str | None = None


@dataclass(frozen=True, kw_only=True)
class DomainInfo:
    """The <domain:infData> of an info response."""

    name: str
    roid: str
    statuses: tuple[str, ...] = ()
    registrant: str | None = None
    contacts: tuple[DomainContact, ...] = ()
    ns: tuple[str, ...] = ()
    hosts: tuple[str, ...] = ()
    cl_id: str
    cr_id: str | None = None
    cr_date: datetime | None = None
    up_id: str | None = None
    up_date: datetime | None = None
    ex_date: datetime | None = None
    tr_date: datetime | None = None
    auth_info: str | None = None
    ds: tuple[DsData, ...] = ()
    """The secDNS-1.1 <secDNS:infData> of the answer (RFC 5910), when the registry sent one."""
    host_addrs: tuple[HostAttr, ...] = ()
    """Glue addresses of name servers given as host attributes (empty for host objects)."""


@dataclass(frozen=True, kw_only=True)
class DomainCreated:
    """The <domain:creData> of a create response."""

    name: str
    cr_date: datetime
    ex_date: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class DomainTransfer:
    """The <domain:trnData> of a transfer answer or of a poll message (RFC 5731 section 3.2.4):
    the domain, the transfer's status, who asked (reID) and when, who acted (acID) and when."""

    name: str
    status: str
    """trStatus: pending, clientApproved, clientCancelled, clientRejected, serverApproved or
    serverCancelled."""
    re_id: str
    re_date: datetime
    ac_id: str
    ac_date: datetime
    ex_date: datetime | None = None

    @property
    def approved(self) -> bool:
        """True when the transfer went through (the domain now has the requesting sponsor)."""
        return self.status in {"clientApproved", "serverApproved"}


# ---------------------------------------------------------------- hosts (RFC 5732)


def address_version(address: str) -> Literal["v4", "v6"]:
    """The ip attribute of a host address ("v4" or "v6"); ValueError when it is no IP address."""
    return "v6" if ipaddress.ip_address(address.strip()).version == 6 else "v4"


@dataclass(frozen=True, kw_only=True)
class HostCreate:
    """The payload of a <host:create>: the host name and its addresses (glue), if any."""

    name: str
    addrs: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class HostUpdate:
    """The payload of a <host:update> (RFC 5732 section 3.2.5): addresses and statuses added
    and removed, and a new name (chg), if any."""

    name: str
    add_addrs: tuple[str, ...] = ()
    rem_addrs: tuple[str, ...] = ()
    add_statuses: tuple[str, ...] = ()
    rem_statuses: tuple[str, ...] = ()
    new_name: str | None = None

    def is_empty(self) -> bool:
        """True when the update would not change anything."""
        return self.new_name is None and not (
            self.add_addrs or self.rem_addrs or self.add_statuses or self.rem_statuses
        )


@dataclass(frozen=True, kw_only=True)
class HostInfo:
    """The <host:infData> of an info response."""

    name: str
    roid: str
    statuses: tuple[str, ...]
    addrs: tuple[str, ...] = ()
    cl_id: str
    cr_id: str
    cr_date: datetime
    up_id: str | None = None
    up_date: datetime | None = None
    tr_date: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class HostCreated:
    """The <host:creData> of a create response."""

    name: str
    cr_date: datetime


@dataclass(frozen=True)
class CheckItem:
    """One <cd> of a check response: a contact id or domain name, its availability and reason."""

    id: str
    avail: bool
    reason: str | None = None


# ---------------------------------------------------------------- session


@dataclass(frozen=True, kw_only=True)
class Login:
    """The payload of a <login> command."""

    cl_id: str
    pw: str
    new_pw: str | None = None
    version: str = "1.0"
    lang: str = "en"
    obj_uris: tuple[str, ...] = DEFAULT_OBJ_URIS
    ext_uris: tuple[str, ...] = ()


@dataclass(frozen=True)
class Poll:
    """The payload of a <poll> command: op "req" or "ack" (with the message id)."""

    op: Literal["req", "ack"]
    msg_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class DcpStatement:
    """One data collection policy statement of a greeting."""

    purposes: tuple[str, ...]
    recipients: tuple[str, ...]
    retention: str


@dataclass(frozen=True, kw_only=True)
class Dcp:
    """A server's data collection policy (RFC 5730 section 2.4)."""

    access: str = "all"
    statements: tuple[DcpStatement, ...] = (
        DcpStatement(purposes=("admin", "prov"), recipients=("ours", "public"), retention="stated"),
    )
    expiry_absolute: datetime | None = None
    expiry_relative: str | None = None
    """An xs:duration such as P1Y."""


@dataclass(frozen=True, kw_only=True)
class Greeting:
    """A server <greeting>."""

    sv_id: str
    sv_date: datetime
    versions: tuple[str, ...] = ("1.0",)
    langs: tuple[str, ...] = ("en",)
    obj_uris: tuple[str, ...] = DEFAULT_OBJ_URIS
    ext_uris: tuple[str, ...] = ()
    dcp: Dcp = Dcp()


@dataclass(frozen=True)
class Result:
    """One <result>: code, message and the reasons of any <extValue>."""

    code: int
    message: str
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class MsgQ:
    """The <msgQ> of a response: messages waiting, the id of the first, and its content."""

    count: int
    id: str
    q_date: datetime | None = None
    message: str | None = None


@dataclass(frozen=True, kw_only=True)
class Response:
    """A server <response>.

    res_data holds what was parsed from <resData>, by key: "contact_check", "domain_check" and
    "host_check" (dict of id -> CheckItem), "contact_create" (ContactCreated), "domain_create"
    (DomainCreated), "host_create" (HostCreated), "contact_info" (ContactInfo), "domain_info"
    (DomainInfo, with the secDNS-1.1 infData of the response's extension), "host_info"
    (HostInfo) and "domain_transfer" (DomainTransfer, in a transfer answer or a poll message).
    """

    code: int
    message: str
    cltrid: str | None
    svtrid: str
    res_data: dict[str, Any] = field(default_factory=dict, hash=False)
    msgq: MsgQ | None = None
    results: tuple[Result, ...] = ()

    @property
    def ok(self) -> bool:
        """True for a success code (1000-1999)."""
        return 1000 <= self.code <= 1999


@dataclass(frozen=True, kw_only=True)
class Command:
    """A client command as a server sees it.

    name is hello, login, logout, poll, check, create, delete, info, renew, transfer or update;
    obj is contact, domain or host (the namespace URI for any other object, None for session
    commands); payload is the typed content for the commands this codec builds, else None.
    """

    name: str
    obj: str | None
    cltrid: str | None
    payload: Any = None
    ext_uris: tuple[str, ...] = ()
