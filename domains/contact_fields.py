"""The fields of a contact as one validated table: names, words, limits, consent, ICANN labels."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

# The table is data, not code, in the style of `publishers.profiles`: validation takes its limits
# from it, the models their column sizes, the publication policy its ICANN labels and what a
# consent covers, and the faces (the portal's change form, the staff's contact form and "enter
# request" dialog) their fields, labels and consent choices. `check_fields` refuses a table its
# readers could not honour.


@dataclass(frozen=True)
class ContactField:
    """One field of a contact's registration data."""

    name: str
    """The field's name in the store, the exchange format and the forms."""
    label: str
    """The field in words, as the staff's forms show it."""
    icann_label: str
    """Its part of the ICANN (WHOIS and RDAP) label, after the role: "Registrant Postal Code"."""
    max_len: int
    """The most characters of one value (of each street line): the EPP schemas' limit."""
    lines: int = 1
    """How many values it holds: up to three street lines."""
    typed_len: int | None = None
    """The most characters a form takes when people type more than is kept (a phone number
    with spaces and dashes, kept in EPP form); None: the stored limit."""
    consent_label: str | None = None
    """What a contact who consents to publish this field agrees to publish, in words; None
    when no consent is asked for it (public anyway, or covered by the field it is part of)."""
    part_of: str | None = None
    """The field this one lives inside (a phone extension in its number): consent to that
    field covers it, and its publication follows that field's."""

    @property
    def consentable(self) -> bool:
        """True when a contact can consent to publish this field."""
        return self.consent_label is not None

    @property
    def input_len(self) -> int:
        """The most characters a form takes for the field: every line with its line break, or
        what a person types."""
        if self.typed_len is not None:
            return self.typed_len
        return self.max_len if self.lines == 1 else self.lines * (self.max_len + 1)


class ContactFieldsError(ValueError):
    """A table of contact fields its readers could not honour."""


def check_fields(
    fields: tuple[ContactField, ...], request_fields: tuple[str, ...]
) -> tuple[ContactField, ...]:
    """Return the table unchanged, or raise ContactFieldsError naming the first bad row."""
    seen: dict[str, ContactField] = {}
    for row in fields:
        if row.name in seen:
            raise ContactFieldsError(f"{row.name}: listed twice")
        if row.max_len < 1 or row.lines < 1 or (row.typed_len or row.max_len) < row.max_len:
            raise ContactFieldsError(f"{row.name}: limits must be positive, typed_len >= max_len")
        if row.part_of is not None:
            whole = seen.get(row.part_of)
            if whole is None or not whole.consentable:
                raise ContactFieldsError(f"{row.name}: part of an earlier consentable field")
            if row.consentable:
                raise ContactFieldsError(f"{row.name}: its consent is that of {row.part_of}")
        seen[row.name] = row
    unknown = [name for name in request_fields if name not in seen]
    if unknown or len(set(request_fields)) != len(request_fields):
        raise ContactFieldsError(f"request fields {request_fields}: unknown or repeated {unknown}")
    return fields


#: The fields a change request gives its new technical contact, in the order its forms (the
#: portal's page, the staff's dialog) show them.
REQUEST_FIELDS = (
    "org",
    "name",
    "email",
    "voice",
    "street",
    "city",
    "postal_code",
    "state",
    "country",
)
#: A contact's registration data, in the order of ICANN's WHOIS layout.
CONTACT_FIELDS = check_fields(
    (
        ContactField("name", "Name", "Name", 255, consent_label="Contact name"),
        ContactField("org", "Organisation", "Organization", 255, consent_label="Organisation"),
        ContactField("street", "Street", "Street", 255, lines=3, consent_label="Street"),
        ContactField("city", "City", "City", 255, consent_label="City"),
        ContactField("state", "State/province", "State/Province", 255),  # always public
        ContactField("postal_code", "Postal code", "Postal Code", 16, consent_label="Postal code"),
        ContactField("country", "Country", "Country", 2),  # always public
        ContactField("voice", "Phone", "Phone", 17, typed_len=32, consent_label="Phone number"),
        ContactField("voice_ext", "Phone ext", "Phone Ext", 10, part_of="voice"),
        ContactField("fax", "Fax", "Fax", 17, typed_len=32, consent_label="Fax number"),
        ContactField("fax_ext", "Fax ext", "Fax Ext", 10, part_of="fax"),
        ContactField("email", "E-mail", "Email", 254, consent_label="E-mail address"),
    ),
    REQUEST_FIELDS,
)
FIELDS_BY_NAME: Mapping[str, ContactField] = MappingProxyType({f.name: f for f in CONTACT_FIELDS})
#: The field names, in the order of ICANN's WHOIS layout.
NAMES = tuple(FIELDS_BY_NAME)
#: The fields a contact can consent to publish, in table order.
CONSENTABLE = tuple(f.name for f in CONTACT_FIELDS if f.consentable)
#: The consent choices of a change request (the portal's page and the staff's dialog offer the
#: same), in the order of its form, each with what it publishes in words.
REQUEST_CONSENTS: Mapping[str, str] = MappingProxyType(
    {
        name: label
        for name in REQUEST_FIELDS
        if (label := FIELDS_BY_NAME[name].consent_label) is not None
    }
)


def field(name: str) -> ContactField:
    """The row of one contact field."""
    return FIELDS_BY_NAME[name]
