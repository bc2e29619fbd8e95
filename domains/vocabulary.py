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
    SKIPPED = "skipped"


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


class FailureSource(StrEnum):
    """Where Interlink learnt that an e-mail address fails: the relay's answer or a report."""

    SMTP = "smtp"
    DSN = "dsn"


class RegistryContactPolicy(StrEnum):
    """What a registry says about a contact role: must be set, may be set, or must not be."""

    REQUIRED = "required"
    OPTIONAL = "optional"
    PROHIBITED = "prohibited"


class RddsOperator(StrEnum):
    """Who answers WHOIS and RDAP for a TLD's domains: the registrar (from the publication
    profile), or only the registry's own service (the registrar's answers point there)."""

    REGISTRAR = "registrar"
    REGISTRY = "registry"


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
    DISCLOSURE_REVIEW = "disclosure review"
    DISCLOSURE_DOCUMENT = "disclosure document"


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


class ReminderKind(StrEnum):
    """The essential reminders: ICANN's registration-data reminder (WDRP) and expiry (ERRP)."""

    WDRP = "registration data"
    EXPIRY_MONTH = "expiry in a month"
    EXPIRY_WEEK = "expiry in a week"
    EXPIRED = "expired"


class RequestorKind(StrEnum):
    """Who asks Interlink for a customer's non-public data (ICANN RDRS's requestor types)."""

    LAW_ENFORCEMENT = "law enforcement"
    LEGAL_REPRESENTATIVE = "legal representative"
    RIGHTS_HOLDER = "rights holder"
    SECURITY_RESEARCHER = "security researcher"
    OTHER = "other"


class DisclosureGround(StrEnum):
    """The grounds on which the privacy policy lets Interlink disclose a customer's data."""

    #: To identify, contact or bring legal action against someone who may be causing harm to,
    #: or interfering with the rights or property of, Interlink, its customers or others.
    HARM_OR_INTERFERENCE = "harm or interference with rights or property"
    #: A good-faith belief that the law requires the disclosure.
    LAW_REQUIRES = "required by law"
    #: An interception order, warrant or other legal process Interlink finds valid.
    LEGAL_PROCESS = "valid legal process"
    #: To provide the service.
    PROVIDE_SERVICE = "to provide the service"
    #: To protect Interlink's legitimate interests.
    LEGITIMATE_INTERESTS = "to protect legitimate interests"
    #: To law enforcement: contents obtained by accident that appear to pertain to a crime.
    CRIME_FOUND_BY_ACCIDENT = "contents found by accident that pertain to a crime"


class UrgencyCategory(StrEnum):
    """Why a request is urgent (ICANN Registration Data Policy): answered within 24 hours."""

    THREAT_TO_LIFE = "imminent threat to life"
    SERIOUS_BODILY_INJURY = "serious bodily injury"
    CRITICAL_INFRASTRUCTURE = "critical infrastructure"
    CHILD_EXPLOITATION = "child exploitation"


#: The urgency of a request that names no urgency category, as reports count it.
REGULAR = "regular"


class DisclosureChannel(StrEnum):
    """How a disclosure request reached Interlink."""

    WEB_FORM = "web form"
    EMAIL = "email"
    LETTER = "letter"
    PHONE = "phone"


class DisclosureLinkState(StrEnum):
    """What a mailed link of a disclosure request (e-mail verification, download) is now."""

    UNKNOWN = "unknown"  # never made: forged or mistyped
    USABLE = "usable"
    USED = "used"
    EXPIRED = "expired"  # past its time, or revoked


class DisclosureState(StrEnum):
    """The states of a disclosure request; a web request counts once its e-mail is verified."""

    UNVERIFIED = "unverified"
    RECEIVED = "received"
    ACKNOWLEDGED = "acknowledged"
    UNDER_REVIEW = "under review"
    DECIDED = "decided"
    CLOSED = "closed"


#: States in which a request still waits for its answer.
OPEN_DISCLOSURE_STATES = frozenset(
    {DisclosureState.RECEIVED, DisclosureState.ACKNOWLEDGED, DisclosureState.UNDER_REVIEW}
)


class DisclosureOutcome(StrEnum):
    """What a decision on a disclosure request gave (ICANN RDRS's outcomes)."""

    DISCLOSED = "disclosed"
    PARTLY_DISCLOSED = "partly disclosed"
    DENIED = "denied"


class DenialReason(StrEnum):
    """Why a disclosure request was denied (with free text besides)."""

    NO_GROUND = "no ground of the privacy policy applies"
    INSUFFICIENT_INFORMATION = "the request gives too little information"
    REQUESTOR_NOT_VERIFIED = "the requestor's identity or authority could not be verified"
    INVALID_LEGAL_PROCESS = "the legal process is not valid"
    RIGHTS_OUTWEIGH = "the customer's rights outweigh the requestor's interest"
    DATA_ALREADY_PUBLIC = "the data asked for is public already"
    NOT_OUR_DOMAIN = "no domain asked for is registered with Interlink"


class GagReason(StrEnum):
    """Why the law forbids telling the customer (for now) that their data was disclosed."""

    COURT_ORDER = "a court order forbids telling the customer"
    CRIMINAL_INVESTIGATION = "telling the customer would prejudice a criminal investigation"
    STATUTE = "a statute forbids telling the customer"
    DANGER_TO_A_PERSON = "telling the customer would endanger a person"


class PasswordClass(StrEnum):
    """The kinds of character a registry's rule for contact passwords (authInfo) may require."""

    LETTER = "letter"
    LOWER = "lower"
    UPPER = "upper"
    DIGIT = "digit"
    SYMBOL = "symbol"


class AsciiSource(StrEnum):
    """Where the registries' ASCII form ("int" postalInfo) of one postal item comes from."""

    GIVEN = "given"
    """The stored ASCII form staff or the customer gave (domains.ascii_postal)."""
    TRANSLITERATED = "transliterated"
    """Transliterated from the data when the contact is sent (shown as a suggestion)."""
