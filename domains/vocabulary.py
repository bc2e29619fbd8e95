"""The product's vocabularies, each a StrEnum defined once and read everywhere."""

from __future__ import annotations

from enum import StrEnum


class ContactRole(StrEnum):
    """The roles a contact holds on a domain (RFC 5731 plus the registrant)."""

    REGISTRANT = "registrant"
    ADMIN = "admin"
    TECH = "tech"
    BILLING = "billing"


class ContactKind(StrEnum):
    PERSON = "person"
    ORGANIZATION = "organization"


class AccountStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    CLOSED = "closed"


class ConsentMethod(StrEnum):
    """How a contact's consent to publish a field was given."""

    PORTAL = "portal"
    PHONE = "phone"
    LETTER = "letter"
    EMAIL = "email"
    IMPORT = "import"
    STAFF = "staff"


class RequestState(StrEnum):
    """The states of a change request (a move of a domain's technical contact)."""

    SUBMITTED = "submitted"
    CONFIRMED = "confirmed"
    APPROVED = "approved"
    REJECTED = "rejected"
    APPLIED = "applied"
    COMPLETED = "completed"
    SYNC_FAILED = "sync_failed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


#: States in which a request still holds its domain: no second request may start.
OPEN_REQUEST_STATES = frozenset(
    {
        RequestState.SUBMITTED,
        RequestState.CONFIRMED,
        RequestState.APPROVED,
        RequestState.APPLIED,
        RequestState.SYNC_FAILED,
    }
)


class RequestChannel(StrEnum):
    """How a change request reached Interlink."""

    PORTAL = "portal"
    PHONE = "phone"
    LETTER = "letter"
    EMAIL = "email"


class RequestTarget(StrEnum):
    """Where a change request moves the technical contact: a new contact, or back to the house."""

    NEW = "new"
    HOUSE = "house"


class OutboxKind(StrEnum):
    """What an outbox entry asks the registry to learn."""

    CONTACT_UPDATE = "contact.update"
    DOMAIN_TECH_MOVE = "domain.tech_move"
    DOMAIN_UPDATE = "domain.update"


class OutboxStatus(StrEnum):
    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    LOCAL_ONLY = "local_only"
    FAILED = "failed"


class NoticeCategory(StrEnum):
    """Essential notices always reach the customer; marketing ones respect the opt-out."""

    ESSENTIAL = "essential"
    MARKETING = "marketing"


class SessionVia(StrEnum):
    """How a customer proved who they are: a mailed link, a passkey, or an API token."""

    LINK = "link"
    PASSKEY = "passkey"
    TOKEN = "token"


class NoticeStatus(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    SUPPRESSED = "suppressed"


class RegistryContactPolicy(StrEnum):
    """What a registry says about a contact role: must be set, may be set, or must not be."""

    REQUIRED = "required"
    OPTIONAL = "optional"
    PROHIBITED = "prohibited"


class StaffRole(StrEnum):
    """What a member of staff is trusted with (DESIGN section 11, "Who acts")."""

    SUPPORT = "support"
    SUPERVISOR = "supervisor"
    PRIVACY = "privacy"
    ADMIN = "admin"


class AccessPurpose(StrEnum):
    """Why a member of staff looked at a contact's private fields: the screen or command."""

    DOMAIN_SCREEN = "domain screen"
    CONTACT_EDIT = "contact edit"
    PUBLICATION_SCREEN = "publication screen"
    REQUEST_SCREEN = "request screen"
    ACCOUNT_SCREEN = "account screen"
    SHOW_PRIVATE = "interlink show --as private"
    SHOW_EPP = "interlink show --as epp"
    REQUEST_COMMAND = "interlink requests show"
    REGISTRY_COMPARISON = "interlink registry show"
    EXPORT = "interlink export"


class RegistrantChangeState(StrEnum):
    """The states of a Change of Registrant: waiting for both parties' links, then decided."""

    PENDING = "pending"
    APPLIED = "applied"
    REFUSED = "refused"
    EXPIRED = "expired"


class RegistrantParty(StrEnum):
    """The two parties of a Change of Registrant, each confirming by their own link."""

    PRIOR = "prior"
    NEW = "new"


class OptOutVia(StrEnum):
    """How a customer's choice about marketing mail reached Interlink."""

    PORTAL = "control panel"
    ONE_CLICK = "one-click unsubscribe"
    UNSUBSCRIBE_MAIL = "unsubscribe e-mail"
    PHONE = "phone"
    LETTER = "letter"
    EMAIL = "email"
