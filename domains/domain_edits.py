"""Staff edits of what the registry holds of a domain: locks, name servers, DS records, registrant.

Each edit runs in one transaction: the roles are checked (domains/staff.py), the domain row is
locked and its version checked, the change is written and audited, and ONE `domain.update` outbox
entry carries what changed, in the payload of the shared contract (docs/architecture.md §6):
`{"domain": A-label, "statuses"|"ns"|"ds": {"add": [...], "rem": [...]},
"registrant": {"before": handle, "after": handle}, "hosts": {in-bailiwick host: [addresses]}}`.
An edit that changes nothing writes nothing. The registry refuses every update of a domain with
serverUpdateProhibited, and every one but lifting the lock of a domain with clientUpdateProhibited;
so does the store, before anything is written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select
from sqlmodel import Session, col

from domains import audit, dnssec, validation
from domains.delegation import delegation
from domains.errors import FieldError, RuleViolation, ValidationFailed
from domains.models import Contact, Domain, DomainContact, DsRecord, utcnow
from domains.outbox import enqueue
from domains.staff import Permission, require
from domains.store_reads import StoreReads, ds_of
from domains.vocabulary import ContactRole, OutboxKind

if TYPE_CHECKING:
    from domains.store import DomainRecord

#: What one edit gives the outbox and the audit trail: (payload without "domain", audit changes).
Change = tuple[dict[str, Any], dict[str, Any]]
_STATUS_ORDER = {status: index for index, status in enumerate(validation.DOMAIN_STATUSES)}


@dataclass(frozen=True)
class DomainEdit:
    """The domain after an edit, and what the registry is asked to change (empty: nothing)."""

    record: DomainRecord
    payload: Mapping[str, Any] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        """Whether the edit changed anything (and so queued a `domain.update`)."""
        return bool(self.payload)


def queue_update(session: Session, domain: Domain, changes: Mapping[str, Any]) -> None:
    """Queue one `domain.update` of `changes` (contract keys) in the session's transaction."""
    assert domain.id is not None  # a stored row
    enqueue(
        session,
        kind=OutboxKind.DOMAIN_UPDATE,
        tld=domain.tld,
        domain_id=domain.id,
        payload={"domain": domain.name, **changes},
    )


def status_changes(before: Iterable[str], after: Iterable[str]) -> dict[str, Any]:
    """The `statuses` part of a payload: the client statuses added and removed (or nothing)."""
    old, new = set(before), set(after)
    add = [s for s in validation.CLIENT_STATUSES if s in new - old]
    rem = [s for s in validation.CLIENT_STATUSES if s in old - new]
    return {"statuses": {"add": add, "rem": rem}} if add or rem else {}


def ns_changes(before: Iterable[str], after: Iterable[str]) -> dict[str, Any]:
    """The `ns` part of a payload: the hosts added (in the new order) and removed (or nothing)."""
    old, new = list(before), list(after)
    add = [host for host in new if host not in old]
    rem = [host for host in old if host not in new]
    return {"ns": {"add": add, "rem": rem}} if add or rem else {}


def check_updatable(domain: Domain, *, lifting: bool = False) -> None:
    """Refuse an edit the registry would refuse: any with serverUpdateProhibited, and any but
    lifting it (`lifting`) with clientUpdateProhibited."""
    if "serverUpdateProhibited" in domain.statuses:
        raise RuleViolation(
            f"{domain.unicode_name} has serverUpdateProhibited: the registry refuses every "
            "change of it until the registry lifts that status"
        )
    if "clientUpdateProhibited" in domain.statuses and not lifting:
        raise RuleViolation(
            f"{domain.unicode_name} is locked (clientUpdateProhibited): the registry refuses "
            f"every change of it but lifting the lock; unlock it first "
            f"(interlink domains unlock {domain.name})"
        )


def _client_statuses(values: Iterable[str], field_name: str) -> list[str]:
    errors: list[FieldError] = []
    found: list[str] = []
    for index, value in enumerate(values):
        if value not in validation.CLIENT_STATUSES:
            errors.append(
                FieldError(
                    f"{field_name}[{index}]",
                    f"{value!r} is not a status the registrar sets; choose from "
                    + ", ".join(validation.CLIENT_STATUSES),
                )
            )
        elif value not in found:
            found.append(value)
    if errors:
        raise ValidationFailed(errors)
    return found


class DomainEdits(StoreReads):
    """The store's edits of a domain's registry data; `Store` inherits them."""

    def _edit(
        self,
        actor: str,
        name: str,
        expected_version: int | None,
        permission: Permission,
        change: Callable[[Session, Domain], Change],
        action: str,
    ) -> DomainEdit:
        """Run `change` on the locked domain; audit, bump and queue what it changed."""
        with self.write() as session:
            require(session, actor, permission)
            domain = self._locked(session, Domain, Domain.name, self._alabel(name), "domain")
            self._check_version(domain, expected_version, "domain", domain.name)
            payload, changes = change(session, domain)
            if payload:
                domain.version += 1
                domain.updated_at = utcnow()
                audit.record(
                    session,
                    actor=actor,
                    action=action,
                    entity_type="domain",
                    entity_id=domain.name,
                    changes=changes,
                )
                queue_update(session, domain, payload)
            alabel = domain.name
        return DomainEdit(
            self.domain_record(alabel), {"domain": alabel, **payload} if payload else {}
        )

    # -- statuses ------------------------------------------------------------------------

    def lock(self, actor: str, name: str, expected_version: int | None = None) -> DomainEdit:
        """Set the registrar lock: clientTransferProhibited, clientUpdateProhibited and
        clientDeleteProhibited."""
        return self.set_client_statuses(
            actor, name, expected_version, add=validation.REGISTRAR_LOCK
        )

    def unlock(self, actor: str, name: str, expected_version: int | None = None) -> DomainEdit:
        """Lift the registrar lock (all three of its statuses)."""
        return self.set_client_statuses(
            actor, name, expected_version, remove=validation.REGISTRAR_LOCK
        )

    def set_client_statuses(
        self,
        actor: str,
        name: str,
        expected_version: int | None,
        *,
        add: Iterable[str] = (),
        remove: Iterable[str] = (),
    ) -> DomainEdit:
        """Add and remove client statuses (RFC 5731: the ones a registrar sets)."""
        adding = _client_statuses(add, "statuses.add")
        removing = _client_statuses(remove, "statuses.rem")
        both = [s for s in adding if s in removing]
        if both:
            raise ValidationFailed(
                FieldError("statuses", f"{', '.join(both)} cannot be both added and removed")
            )

        def change(session: Session, domain: Domain) -> Change:
            before = list(domain.statuses)
            after = validation.statuses(
                [s for s in before if s not in removing and s != "ok"] + adding
            )
            payload = status_changes(before, after)
            if not payload:
                return {}, {}
            check_updatable(domain, lifting="clientUpdateProhibited" in payload["statuses"]["rem"])
            domain.statuses = after
            return payload, {"statuses": {"before": before, "after": after}}

        return self._edit(
            actor, name, expected_version, Permission.EDIT_DOMAIN, change, "domain.update"
        )

    # -- name servers --------------------------------------------------------------------

    def set_nameservers(
        self,
        actor: str,
        name: str,
        expected_version: int | None,
        nameservers: Iterable[str] | str | None,
        glue: Mapping[str, Any] | None = None,
    ) -> DomainEdit:
        """Give the domain these name servers (A-labels); an in-bailiwick host added needs its
        addresses in `glue` ({host: [address, ...]}), carried to the registry as `hosts`."""

        def change(session: Session, domain: Domain) -> Change:
            before = list(domain.nameservers)
            checked = delegation(domain.name, nameservers, glue, current=before)
            after = list(checked.nameservers)
            payload = ns_changes(before, after)
            if not payload:
                return {}, {}
            check_updatable(domain)
            domain.nameservers = after
            changes: dict[str, Any] = {"nameservers": {"before": before, "after": after}}
            if checked.hosts:
                hosts = {host: list(addresses) for host, addresses in checked.hosts.items()}
                payload["hosts"] = hosts
                changes["glue"] = {"before": None, "after": hosts}
            return payload, changes

        return self._edit(
            actor, name, expected_version, Permission.EDIT_DOMAIN, change, "domain.update"
        )

    # -- DS records ----------------------------------------------------------------------

    def set_ds(
        self, actor: str, name: str, expected_version: int | None, records: Iterable[Any] | None
    ) -> DomainEdit:
        """Give the domain exactly these DS records (none: unsigned, if it had any on file)."""
        wanted = dnssec.ds_records(records)
        return self._ds_edit(actor, name, expected_version, lambda held: wanted)

    def add_ds(
        self, actor: str, name: str, expected_version: int | None, records: Iterable[Any]
    ) -> DomainEdit:
        """Add DS records to those on file (each must be new)."""
        adding = dnssec.ds_records(records)
        if not adding:
            raise ValidationFailed(FieldError("ds", "give at least one DS record to add"))

        def after(held: tuple[dnssec.DsView, ...]) -> tuple[dnssec.DsView, ...]:
            known = [
                FieldError(f"ds[{i}]", f"{r.text} is on file already")
                for i, r in enumerate(adding)
                if r in held
            ]
            if known:
                raise ValidationFailed(known)
            return (*held, *adding)

        return self._ds_edit(actor, name, expected_version, after)

    def remove_ds(
        self, actor: str, name: str, expected_version: int | None, records: Iterable[Any]
    ) -> DomainEdit:
        """Remove DS records from those on file (each must be on file)."""
        removing = dnssec.ds_records(records)
        if not removing:
            raise ValidationFailed(FieldError("ds", "give at least one DS record to remove"))

        def after(held: tuple[dnssec.DsView, ...]) -> tuple[dnssec.DsView, ...]:
            unknown = [
                FieldError(f"ds[{i}]", f"{r.text} is not on file for this domain")
                for i, r in enumerate(removing)
                if r not in held
            ]
            if unknown:
                raise ValidationFailed(unknown)
            return tuple(r for r in held if r not in removing)

        return self._ds_edit(actor, name, expected_version, after)

    def _ds_edit(
        self,
        actor: str,
        name: str,
        expected_version: int | None,
        after: Callable[[tuple[dnssec.DsView, ...]], tuple[dnssec.DsView, ...]],
    ) -> DomainEdit:
        def change(session: Session, domain: Domain) -> Change:
            held = ds_of(session, domain)
            wanted = tuple(sorted(set(after(held))))
            add = [r for r in wanted if r not in held]
            rem = [r for r in held if r not in wanted]
            if not add and not rem:
                return {}, {}
            check_updatable(domain)
            write_ds(session, domain, add, rem)
            signed = bool(wanted)
            changes: dict[str, Any] = {
                "ds": {"before": [r.text for r in held], "after": [r.text for r in wanted]}
            }
            if domain.dnssec != signed:
                changes["dnssec"] = {"before": domain.dnssec, "after": signed}
                domain.dnssec = signed
            payload = {"ds": {"add": [r.payload() for r in add], "rem": [r.payload() for r in rem]}}
            return payload, changes

        return self._edit(
            actor, name, expected_version, Permission.EDIT_DOMAIN, change, "domain.ds"
        )

    def import_ds(self, actor: str, name: str, records: Iterable[Any]) -> DomainEdit:
        """Put DS records on file that the registry holds already (an import, the demo): the
        domain is signed, the trail records it, and no outbox entry is queued."""
        wanted = dnssec.ds_records(records)
        with self.write() as session:
            require(session, actor, Permission.IMPORT)
            domain = self._locked(session, Domain, Domain.name, self._alabel(name), "domain")
            held = ds_of(session, domain)
            add = [r for r in wanted if r not in held]
            rem = [r for r in held if r not in wanted]
            if add or rem:
                write_ds(session, domain, add, rem)
                changes: dict[str, Any] = {
                    "ds": {"before": [r.text for r in held], "after": [r.text for r in wanted]}
                }
                if domain.dnssec != bool(wanted):
                    changes["dnssec"] = {"before": domain.dnssec, "after": bool(wanted)}
                    domain.dnssec = bool(wanted)
                domain.version += 1
                domain.updated_at = utcnow()
                audit.record(
                    session,
                    actor=actor,
                    action="domain.ds_import",
                    entity_type="domain",
                    entity_id=domain.name,
                    changes=changes,
                )
            alabel = domain.name
        return DomainEdit(self.domain_record(alabel))

    # -- registrant ----------------------------------------------------------------------

    def change_registrant(
        self, actor: str, name: str, expected_version: int | None, handle: str
    ) -> DomainEdit:
        """Make the contact `handle` (one of the domain's account) the domain's registrant."""
        wanted = validation.handle(handle, "registrant")

        def change(session: Session, domain: Domain) -> Change:
            contact = session.execute(select(Contact).where(col(Contact.handle) == wanted)).scalar()
            if contact is None:
                raise ValidationFailed(FieldError("registrant", f"no contact {wanted!r}"))
            link = session.get(DomainContact, (domain.id, ContactRole.REGISTRANT))
            previous = session.get(Contact, link.contact_id) if link is not None else None
            if previous is not None and previous.id == contact.id:
                return {}, {}
            if contact.account_id != domain.account_id:
                raise ValidationFailed(
                    FieldError(
                        "registrant",
                        f"{contact.handle} is not a contact of the domain's account; the "
                        "registrant must be one of the account's own contacts",
                    )
                )
            check_updatable(domain)
            before = previous.handle if previous is not None else None
            assert domain.id is not None and contact.id is not None  # stored rows
            if link is None:
                session.add(
                    DomainContact(
                        domain_id=domain.id, role=ContactRole.REGISTRANT, contact_id=contact.id
                    )
                )
            else:
                link.contact_id = contact.id
            payload = {"registrant": {"before": before, "after": contact.handle}}
            return payload, {ContactRole.REGISTRANT: {"before": before, "after": contact.handle}}

        return self._edit(
            actor, name, expected_version, Permission.CHANGE_REGISTRANT, change, "domain.assign"
        )


def write_ds(
    session: Session,
    domain: Domain,
    add: Iterable[dnssec.DsView],
    rem: Iterable[dnssec.DsView],
) -> None:
    """Insert `add` and delete `rem` among the domain's DS rows."""
    assert domain.id is not None  # a stored row
    for record in rem:
        session.execute(
            delete(DsRecord).where(
                col(DsRecord.domain_id) == domain.id,
                col(DsRecord.key_tag) == record.key_tag,
                col(DsRecord.algorithm) == record.algorithm,
                col(DsRecord.digest_type) == record.digest_type,
                col(DsRecord.digest) == record.digest,
            )
        )
    for record in add:
        session.add(
            DsRecord(
                domain_id=domain.id,
                key_tag=record.key_tag,
                algorithm=record.algorithm,
                digest_type=record.digest_type,
                digest=record.digest,
            )
        )
    session.flush()
