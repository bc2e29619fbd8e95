"""What a registry holds of a domain beside what the store would send it, field by field."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from domains.store import DomainRecord
from domains.vocabulary import ContactRole
from publishers.disclose import disclose_for
from publishers.epp.model import DISCLOSABLE, ContactData, ContactInfo, Disclose, DomainInfo
from publishers.policy import PublicationView
from publishers.sync.contacts import ALL_PUBLIC, contact_data

UNUSED_AUTH_INFO = "never-compared"
"""The authInfo of the expected contacts: never compared, never shown."""


@dataclass(frozen=True)
class Row:
    """One field: the registry's value, the value the store would send, and whether they differ."""

    field: str
    registry: str | None
    store: str | None
    differs: bool


@dataclass(frozen=True)
class Section:
    """The rows of one registry object (the domain, or one contact)."""

    title: str
    rows: tuple[Row, ...]
    note: str | None = None

    @property
    def differences(self) -> int:
        """How many rows differ."""
        return sum(row.differs for row in self.rows)


@dataclass(frozen=True)
class Comparison:
    """A domain as the registry holds it beside the store: the domain first, then its contacts."""

    domain: str
    unicode_name: str
    registry: str
    address: str
    """host:port of the registry's EPP server."""
    sections: tuple[Section, ...]

    @property
    def differences(self) -> int:
        """How many fields differ, over every section."""
        return sum(section.differences for section in self.sections)

    def as_dict(self) -> dict[str, Any]:
        """A plain, JSON-ready form (no authInfo, no password: the comparison holds none)."""
        return {**asdict(self), "differences": self.differences}


@dataclass(frozen=True)
class Expected:
    """One contact as the sync sends it: its data, its disclose flags, the roles it holds."""

    data: ContactData
    disclose: Disclose
    roles: tuple[str, ...]


@dataclass(frozen=True)
class StoreIntent:
    """What the store would have the registry hold: a handle per role, and those contacts."""

    client_id: str
    """Our client id at the registry: the sponsor of the domain and of every contact we send."""
    handles: Mapping[str, str | None]
    contacts: Mapping[str, Expected]


def store_intent(record: DomainRecord, view: PublicationView, client_id: str) -> StoreIntent:
    """The handles and contacts the sync sends for this domain (roles the policy prohibits: none).

    The contacts are built by the sync's own `contact_data` and the disclose flags by
    `disclose_for` on the domain's view, as the sync builds its create and update commands.
    """
    handles: dict[str, str | None] = {}
    contacts: dict[str, Expected] = {}
    for role in ContactRole:
        contact = record.contact(role)
        if contact is None or not view.role(role).sent_to_registry:
            handles[role] = None
            continue
        handles[role] = contact.handle
        known = contacts.get(contact.handle)
        if known is None:
            data = contact_data(contact, auth_info=UNUSED_AUTH_INFO)
            contacts[contact.handle] = Expected(data, disclose_for(view, role), (role,))
        else:
            contacts[contact.handle] = Expected(known.data, known.disclose, (*known.roles, role))
    return StoreIntent(client_id, handles, contacts)


def registry_handles(info: DomainInfo) -> dict[str, tuple[str, ...]]:
    """The handles the registry's domain references, by role."""
    found: dict[str, tuple[str, ...]] = {role: () for role in ContactRole}
    if info.registrant:
        found["registrant"] = (info.registrant,)
    for kind, handle in info.contacts:
        if kind in found:
            found[kind] = (*found[kind], handle)
    return found


def _text(value: str | None) -> str | None:
    return value or None


def _row(field: str, registry: str | None, store: str | None, *, compared: bool = True) -> Row:
    registry, store = _text(registry), _text(store)
    return Row(field, registry, store, compared and registry != store)


def _joined(values: Any) -> str | None:
    return ", ".join(values) or None


def domain_section(record: DomainRecord, info: DomainInfo, intent: StoreIntent) -> Section:
    """The domain's rows: the handle of every role, the name servers and the statuses."""
    held = registry_handles(info)
    rows = [_row("sponsoring client", info.cl_id, intent.client_id)]
    rows += [
        _row(f"{role} handle", _joined(held[role]), intent.handles.get(role))
        for role in ContactRole
    ]
    domain = record.domain
    rows.append(
        _row(
            "name servers",
            _joined(sorted({host.lower() for host in info.ns})),
            _joined(sorted({host.lower() for host in domain.nameservers or ()})),
        )
    )
    rows.append(
        _row(
            "statuses",
            _joined(sorted(set(info.statuses or ("ok",)))),
            _joined(sorted(set(domain.statuses or ("ok",)))),
        )
    )
    return Section(f"domain {domain.name}", tuple(rows))


def _flag(disclose: Disclose | None, item: str) -> str | None:
    if disclose is None:
        return None
    return "public" if getattr(disclose, item) else "private"


def contact_rows(
    info: ContactInfo | None,
    want: Expected | None,
    client_id: str | None,
    *,
    compared: bool = True,
) -> tuple[Row, ...]:
    """A contact's rows, compared as the sync compares them (`sync.contacts.same_postal`), and
    its sponsor, which the sync requires to be us."""
    data = want.data if want is not None else None
    # The postal items as given: the registry's postalInfo of our type ("loc" beside an ASCII
    # "int" form for non-ASCII data), else the one it has.
    postal = None
    if info is not None:
        postal = (info.postal(data.postal_type) if data is not None else None) or info.localized
    have = postal.addr if postal is not None else None

    def row(field: str, registry: str | None, store: str | None) -> Row:
        return _row(field, registry, store, compared=compared)

    rows = [
        row("sponsoring client", info.cl_id if info else None, client_id),
        row("name", postal.name if postal else None, data.name if data else None),
        row("org", postal.org if postal else None, data.org if data else None),
    ]
    streets = (have.street if have else (), data.street if data else ())
    for index in range(max(1, *(len(lines) for lines in streets))):
        line = [lines[index] if index < len(lines) else None for lines in streets]
        rows.append(row(f"street {index + 1}", *line))
    rows += [
        row("city", have.city if have else None, data.city if data else None),
        row("sp (state/province)", have.sp if have else None, data.sp if data else None),
        row("pc (postal code)", have.pc if have else None, data.pc if data else None),
        row("cc (country)", have.cc.upper() if have else None, data.cc.upper() if data else None),
    ]
    for phone in ("voice", "fax"):
        rows.append(row(phone, getattr(info, phone, None), getattr(data, phone, None)))
        theirs, ours = getattr(info, f"{phone}_ext", None), getattr(data, f"{phone}_ext", None)
        if theirs or ours:
            rows.append(row(f"{phone} ext", theirs, ours))
    rows.append(row("email", info.email if info else None, data.email if data else None))
    # No disclose element leaves everything to the registry's own policy: public, as the sync's
    # read-back counts it.
    theirs_flags = (info.disclose or ALL_PUBLIC) if info is not None else None
    ours_flags = want.disclose if want is not None else None
    rows += [
        row(f"disclose {item}", _flag(theirs_flags, item), _flag(ours_flags, item))
        for item in DISCLOSABLE
    ]
    return tuple(rows)


def contact_section(
    handle: str,
    info: ContactInfo | None,
    want: Expected | None,
    *,
    client_id: str,
    registry_roles: tuple[str, ...] = (),
) -> Section:
    """One contact: compared when the store sends it; shown as the registry holds it otherwise."""
    roles = want.roles if want is not None else registry_roles
    title = f"contact {handle} ({', '.join(roles)})"
    if want is None:
        return Section(
            title,
            contact_rows(info, None, None, compared=False),
            note="the registry's domain references it; Interlink does not (see the handles above)",
        )
    if info is None:
        return Section(
            title,
            (Row("contact object", None, handle, True),),
            note=f"the registry holds no contact {handle}",
        )
    return Section(title, contact_rows(info, want, client_id))


def compare(
    record: DomainRecord,
    intent: StoreIntent,
    info: DomainInfo,
    contacts: Mapping[str, ContactInfo | None],
    *,
    registry: str,
    address: str,
) -> Comparison:
    """Every difference between the registry's domain and contacts and what the store sends.

    contacts maps each handle the registry's domain references, and each handle the store sends,
    to the registry's contact:info (None: the registry holds no such contact).
    """
    held = registry_handles(info)
    sections = [domain_section(record, info, intent)]
    for handle, want in intent.contacts.items():
        sections.append(
            contact_section(handle, contacts.get(handle), want, client_id=intent.client_id)
        )
    extra = [h for h in contacts if h not in intent.contacts]
    for handle in extra:
        roles = tuple(role for role in ContactRole if handle in held[role])
        sections.append(
            contact_section(
                handle, contacts[handle], None, client_id=intent.client_id, registry_roles=roles
            )
        )
    domain = record.domain
    return Comparison(
        domain=domain.name,
        unicode_name=domain.unicode_name,
        registry=registry,
        address=address,
        sections=tuple(sections),
    )
