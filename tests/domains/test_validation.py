"""Each validation rule with good and bad values; every error names the field and the reason."""

from __future__ import annotations

import sys
import unicodedata
from datetime import UTC, datetime, timedelta, timezone

import email_validator
import idna
import phonenumbers
import pytest

from domains import validation
from domains.errors import ValidationFailed
from tests.support.samples import NAMES


def refused(check, *args, **kwargs) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as info:
        check(*args, **kwargs)
    return info.value


@pytest.mark.parametrize(
    ("given", "alabel", "ulabel", "tld"),
    [
        ("example.com", "example.com", "example.com", "com"),
        ("EXAMPLE.COM.", "example.com", "example.com", "com"),
        ("bücher.de", "xn--bcher-kva.de", "bücher.de", "de"),
        ("xn--bcher-kva.de", "xn--bcher-kva.de", "bücher.de", "de"),
        ("BÜCHER.de", "xn--bcher-kva.de", "bücher.de", "de"),
        ("shop.co.uk", "shop.co.uk", "shop.co.uk", "uk"),
        ("åsa.se", "xn--sa-xia.se", "åsa.se", "se"),
    ],
)
def test_domain_names_are_stored_as_a_labels(given, alabel, ulabel, tld):
    assert validation.domain_name(given) == (alabel, ulabel, tld)


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        ("", "is required"),
        ("localhost", "has no TLD"),
        ("co.uk", "public suffix"),
        ("www.shop.com", "registrable name is shop.com"),
        ("exa mple.com", "contains a space"),
        ("a" * 64 + ".com", "not a valid domain name"),
        ("-bad.com", "not a valid domain name"),
        ("bad\x00.com", "control"),
        ("example.notatld", "not registrable"),
    ],
)
def test_bad_domain_names_name_the_field_and_reason(given, reason):
    error = refused(validation.domain_name, given)
    assert error.errors[0].field == "name"
    assert reason in error.errors[0].message


def test_invisible_characters_in_a_name_are_refused():
    # A zero-width joiner would let two different-looking names share a spelling.
    error = refused(validation.domain_name, "ab\u200d.com")
    assert error.errors[0].field == "name"


@pytest.mark.parametrize(
    ("given", "region", "stored"),
    [
        ("+44 117 496 0123", None, "+44.1174960123"),
        ("0117 496 0123", "GB", "+44.1174960123"),
        ("+44.1174960123", None, "+44.1174960123"),
        ("030 901820", "DE", "+49.30901820"),
        ("+1 (202) 555-0143", None, "+1.2025550143"),
        ("06 12 34 56 78", "FR", "+33.612345678"),
        ("+39 06 1234 5678", None, "+39.0612345678"),
    ],
)
def test_phone_numbers_are_stored_in_epp_form(given, region, stored):
    assert validation.phone("voice", given, region) == stored


@pytest.mark.parametrize(
    ("given", "region", "reason"),
    [
        ("+44 117", None, "not a valid number for country code +44"),
        ("12345", "DE", "not a valid number"),
        ("call me", None, "not a phone number"),
        ("0117 496 0123", None, "has no country code"),
        ("+999 1234567", None, "known country code"),
    ],
)
def test_bad_phone_numbers(given, region, reason):
    error = refused(validation.phone, "voice", given, region)
    assert error.errors[0].field == "voice"
    assert reason in error.errors[0].message


def test_phone_is_checked_against_the_contacts_country():
    # A valid German number written nationally is not a valid British one.
    good = validation.contact(
        {
            "name": "A",
            "city": "Berlin",
            "country": "DE",
            "email": "a@example.com",
            "voice": "030 901820",
        }
    )
    assert good["voice"] == "+49.30901820"
    error = refused(
        validation.contact,
        {
            "name": "A",
            "city": "Bristol",
            "country": "GB",
            "email": "a@example.com",
            "voice": "030 901820",
        },
    )
    assert error.for_field("voice")


def test_extensions_are_digits_and_need_a_number():
    assert validation.extension("voice_ext", "123") == "123"
    assert "digits" in refused(validation.extension, "voice_ext", "12a").errors[0].message
    error = refused(
        validation.contact,
        {"name": "A", "city": "B", "country": "GB", "email": "a@example.com", "voice_ext": "12"},
    )
    assert error.for_field("voice_ext") == "needs a voice number"


@pytest.mark.parametrize(("given", "stored"), [("gb", "GB"), (" de ", "DE"), ("SE", "SE")])
def test_country_codes(given, stored):
    assert validation.country(given) == stored


@pytest.mark.parametrize("given", ["UK", "XX", "GBR", "Germany", "", None, 44])
def test_bad_country_codes(given):
    error = refused(validation.country, given)
    assert error.errors[0].field == "country"
    assert "alpha-2" in error.errors[0].message


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("jane@example.com", "jane@example.com"),
        ("Jane.Doe@EXAMPLE.org", "Jane.Doe@example.org"),
        ("  x@example.net ", "x@example.net"),
        ("jürgen@example.com", "jürgen@example.com"),
    ],
)
def test_emails(given, stored):
    assert validation.email(given) == stored


@pytest.mark.parametrize(
    "given", ["jane", "jane@", "@example.com", "a b@example.com", "jane@@example.com", ""]
)
def test_bad_emails(given):
    error = refused(validation.email, given)
    assert error.errors[0].field == "email"


def test_text_limits_follow_the_epp_schema():
    assert validation.text("city", "x" * 255, required=True) == "x" * 255
    error = refused(validation.text, "city", "x" * 256, required=True)
    assert "256 characters long; at most 255" in error.errors[0].message
    assert validation.postal_code("postal_code", "1" * 16) == "1" * 16
    assert (
        "at most 16" in refused(validation.postal_code, "postal_code", "1" * 17).errors[0].message
    )
    assert validation.street("street", ["a", "b", "c"]) == ["a", "b", "c"]
    assert (
        "at most 3" in refused(validation.street, "street", ["a", "b", "c", "d"]).errors[0].message
    )


def test_control_characters_are_refused_with_their_position():
    error = refused(validation.text, "name", "Jane\x07Roe", required=True)
    assert "U+0007 at position 5" in error.errors[0].message
    assert refused(validation.text, "name", "two\nlines", required=True).errors[0].field == "name"


@pytest.mark.parametrize(
    ("given", "ok"),
    [
        ("abc", True),
        ("ILC1", True),
        ("a" * 16, True),
        ("ab", False),
        ("a" * 17, False),
        ("has space", False),
        ("bad/char", False),
    ],
)
def test_handles_are_3_to_16_characters(given, ok):
    if ok:
        assert validation.handle(given) == given
    else:
        assert refused(validation.handle, given).errors[0].field == "handle"


def test_whole_contact_reports_every_bad_field_at_once():
    error = refused(
        validation.contact,
        {"kind": "organization", "name": "", "city": "X", "country": "ZZ", "email": "nope"},
        record="contacts[3]",
    )
    fields = {e.field for e in error.errors}
    assert {"name", "org", "country", "email"} <= fields
    assert str(error).startswith("contacts[3]: ")


def test_consent_needs_known_fields_and_a_method():
    base = {"name": "A", "city": "B", "country": "GB", "email": "a@example.com"}
    clean = validation.contact(
        {**base, "consent_fields": ["email", "name"], "consent_method": "portal"}
    )
    assert clean["consent_fields"] == ["name", "email"]
    assert clean["consent_at"] is not None
    assert refused(
        validation.contact, {**base, "consent_fields": ["state"], "consent_method": "portal"}
    ).for_field("consent_fields")
    assert refused(validation.contact, {**base, "consent_fields": ["email"]}).for_field(
        "consent_method"
    )


def test_datetimes_must_carry_a_timezone():
    assert validation.aware("created_at", "2026-01-31T12:00:00Z") == datetime(
        2026, 1, 31, 12, tzinfo=UTC
    )
    shifted = validation.aware("x", datetime(2026, 1, 1, 1, tzinfo=timezone(timedelta(hours=1))))
    assert shifted == datetime(2026, 1, 1, 0, tzinfo=UTC)
    assert (
        "no timezone"
        in refused(validation.aware, "created_at", datetime(2026, 1, 1)).errors[0].message
    )
    assert "ISO 8601" in refused(validation.aware, "created_at", "yesterday").errors[0].message


def test_domain_statuses_and_nameservers():
    assert validation.statuses(["clientUpdateProhibited", "ok"]) == ["clientUpdateProhibited"]
    assert validation.statuses([]) == ["ok"]
    assert "not an EPP domain status" in refused(validation.statuses, ["locked"]).errors[0].message
    assert validation.nameservers(["NS1.Example.NET.", "ns1.example.net"]) == ["ns1.example.net"]
    assert refused(validation.nameservers, ["localhost"]).errors[0].field == "nameservers"


def test_domain_expiry_after_creation():
    error = refused(
        validation.domain,
        {
            "name": "example.com",
            "created_at": "2026-01-02T00:00:00Z",
            "expires_at": "2026-01-01T00:00:00Z",
        },
    )
    assert error.for_field("expires_at") == "must be after the creation date"


def test_account_numbers_and_status():
    base = {"number": "a-100", "name": "N", "email": "n@example.com", "country": "GB"}
    assert validation.account(base)["number"] == "A-100"
    assert refused(validation.account, {**base, "number": "12"}).for_field("number")
    assert refused(validation.account, {**base, "status": "gone"}).for_field("status")


# -- the shortcuts of the checks (for imports of millions of records) give the same answers ------


def test_printable_text_holds_no_control_or_format_character():
    # _has_control skips its look at each character when str.isprintable() says yes.
    refused_categories = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        if char.isprintable():
            assert unicodedata.category(char) not in refused_categories, hex(code)
    assert validation._has_control("a\u00a0b\u3000c") is None  # spaces: not printable, not refused
    assert validation._has_control("a\u00a0b\u200bc") == 3


def test_remembered_texts_are_checked_afresh_when_bad_under_their_own_field():
    for _ in range(2):  # the second round answers from what the first remembered
        assert validation.text("city", " Bristol ", required=True) == "Bristol"
        assert validation.text("city", "a\tb  c", required=True) == "a b c"
        assert validation.text("state", "  ", required=False) is None
        assert refused(validation.text, "city", "  ", required=True).errors[0].message == (
            "is required"
        )
        for field in ("city", "state"):
            error = refused(validation.text, field, "a\x00b", required=False)
            assert error.errors[0].field == field
            assert "U+0000 at position 2" in error.errors[0].message
        assert validation.text("name", "x" * 17, required=True) == "x" * 17
        assert "at most 16" in (
            refused(validation.postal_code, "postal_code", "x" * 17).errors[0].message
        )
        assert refused(validation.text, "name", 17, required=True).errors[0].message == (
            "must be text, not a number"
        )


# -- every message in the product's words, none of a library's own sentences -------------------

BAD_PHONES = [
    ("phone me maybe", None),
    ("call me", "DE"),
    ("12345", None),
    ("0117 496 0123", None),
    ("+999 1234567", None),
    ("+44 1", None),
    ("+44" + "1" * 20, None),
    ("0011", "AU"),
    ("+", None),
    ("1", "GB"),
]
BAD_ADDRESSES = [
    "x@localhost",
    "x@example.local",
    "x@[127.0.0.1]",
    "Name <x@example.com>",
    "x@" + "a" * 64 + ".com",
    "x@xn--zz.com",
    "x@a..b.com",
    "x@-a.com",
    "x@ab--c.com",
    "a b@example.com",
    "..@example.com",
    "jane",
    "jane@",
    "@example.com",
    "jane@@example.com",
    "x@example",
    "x.@example.com",
    "x@example.com.",
    "x@exa_mple.com",
    "x\x00y@example.com",
    "x@foo.test",
    '"quoted"@example.com',
    "x@example.123",
    "x@ex!ample.com",
    "(comment)x@example.com",
    "x@.com",
    "ä@xn--a.com",
]
BAD_NAMES = [
    *NAMES,
    "not a domain!!",
    "a..b.com",
    ".a.com",
    "ab-.com",
    "xn--zz.com",
    "a_b.com",
    "a!.com",
    "a/b.com",
    "€.com",
    "a😀.com",
    "\u0301ab.com",
    "abc\u0661\u06f1.com",
    "a\u00b7b.com",
    "\u0627" + "1a.com",
    "a" * 300 + ".com",
    "bücher" * 12 + ".de",
]


def library_texts(exc: Exception) -> set[str]:
    """What a library said when it refused a value: its exception's text, with and without '.'."""
    texts = {str(exc), str(exc).rstrip(".")}
    own = getattr(exc, "_msg", None)  # phonenumbers keeps its sentence apart from its number
    if own:
        texts |= {own, own.rstrip(".")}
    return {text for text in texts if len(text) > 3}


def our_message(check, *args) -> str:
    error = refused(check, *args)
    assert len(error.errors) == 1
    return error.errors[0].message


def test_phone_messages_are_ours_and_say_how_to_write_a_number():
    for raw, region in BAD_PHONES:
        with pytest.raises(phonenumbers.NumberParseException) as library:
            phonenumbers.parse(raw, region)
        message = our_message(validation.phone, "voice", raw, region)
        assert repr(raw) in message
        assert "international form, e.g. +44 20 7946 0958" in message, message
        for said in library_texts(library.value):
            assert said not in message, (raw, message)


def test_email_messages_are_ours():
    for address in BAD_ADDRESSES:
        with pytest.raises(email_validator.EmailNotValidError) as library:
            email_validator.validate_email(address, check_deliverability=False)
        message = our_message(validation.email, address)
        assert f"{address.strip()!r} is not a valid e-mail address: " in message
        for said in library_texts(library.value):
            assert said not in message, (address, message)


@pytest.mark.parametrize("check", [validation.domain_name, validation.host_name])
def test_domain_and_host_name_messages_are_ours(check):
    library_refused = 0
    for name in BAD_NAMES:
        try:
            idna.decode(idna.encode(name.strip(), uts46=True, transitional=False))
        except (idna.IDNAError, UnicodeError) as exc:
            said = library_texts(exc)
            library_refused += 1
        else:
            said = set()
        try:
            check(name)
        except ValidationFailed as exc:
            (error,) = exc.errors
            assert error.message.startswith(repr(name.strip().rstrip("."))), error.message
            for text in said:
                assert text not in error.message, (name, error.message)
        else:
            assert not said, f"{name!r}: the library refused it, we did not"
    assert library_refused >= 20  # the list does try the library's refusals


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        ("a!.com", "'!' (U+0021 EXCLAMATION MARK) is not allowed"),
        ("a..b.com", "it has an empty part"),
        ("ab--cd.com", "3rd and 4th characters"),
        ("xn--zz.com", "'xn--zz' starts with xn-- but is not a correctly encoded name"),
        ("a😀.com", "U+1F600 GRINNING FACE) is not allowed"),
        ("bücher" * 12 + ".de", "is 79 characters long when encoded; at most 63"),
    ],
)
def test_a_bad_domain_name_is_told_what_is_wrong(given, reason):
    message = our_message(validation.domain_name, given)
    assert message.startswith(f"{given!r} is not a valid domain name: ")
    assert reason in message


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        ("not a domain!!", "contains a space, so it is not a valid domain name; a domain name is"),
        (
            "a\u200db.com",
            "the invisible or control character U+200D ZERO WIDTH JOINER at position 2",
        ),
    ],
)
def test_a_space_or_control_character_is_named(given, reason):
    assert reason in our_message(validation.domain_name, given)


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        ("jane", "it has no @; write it like name@example.com"),
        ("x@localhost", "('localhost') has no dot"),
        ("x@foo.test", "'foo.test' is a name kept for tests or local networks"),
        ("x@exa_mple.com", "the part after the @ is not a domain name: '_' (U+005F LOW LINE)"),
        ("Name <x@example.com>", "without a name or angle brackets"),
        ("x@example.123", "ends in .123, which is not a top-level domain"),
    ],
)
def test_a_bad_email_is_told_what_is_wrong(given, reason):
    assert reason in our_message(validation.email, given)


@pytest.mark.parametrize(
    ("given", "hint"),
    [("UK", "for United Kingdom write GB"), ("Germany", "for Germany write DE"), ("XX", "GB, DE")],
)
def test_a_bad_country_is_told_its_code(given, hint):
    assert hint in our_message(validation.country, given)


def test_references_are_checked_for_their_form():
    assert validation.reference(" cr-abcde-fgh23 ") == "CR-ABCDE-FGH23"
    message = our_message(validation.reference, "CR-NOPE-00000")
    assert message.startswith("'CR-NOPE-00000' is not a request reference")
