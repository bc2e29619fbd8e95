"""DS records and name servers checked against IANA's registries: each refusal names its field."""

from __future__ import annotations

import pytest

from domains.delegation import delegation
from domains.dnssec import DsView, ds_record, ds_records
from domains.errors import ValidationFailed

SHA256 = "1F987CC6583E92DF0890718C42B7C96D43B7F5CA6D5F67C9A4A7D1F8A9E3B2C1"
SHA384 = (
    "72D7B62976CE06438E9C0BF319013CF801F09ECC84B8D7E9"
    "495F27E305C6A9B0563A9B5F4D288405C3008A946DF983D6"
)


def refused(value: object) -> dict[str, str]:
    """{field: message} of a refused list of DS records."""
    with pytest.raises(ValidationFailed) as caught:
        ds_records(value)
    return {error.field: error.message for error in caught.value.errors}


def test_a_ds_record_is_read_from_text_a_mapping_or_a_whole_ds_line() -> None:
    wanted = DsView(2371, 13, 2, SHA256)
    assert ds_record(f"2371 13 2 {SHA256.lower()}") == wanted
    assert ds_record({"keyTag": 2371, "algorithm": 13, "digestType": 2, "digest": SHA256}) == wanted
    assert ds_record({"key_tag": "2371", "alg": "13", "digest_type": 2, "digest": SHA256}) == wanted
    spaced = f"{SHA256[:32]} {SHA256[32:]}"
    assert ds_record(f"example.com. 3600 IN DS 2371 13 2 {spaced}") == wanted
    assert ds_record(f"2371 ECDSAP256SHA256 SHA256 {SHA256}") == wanted
    assert wanted.payload() == {"key_tag": 2371, "alg": 13, "digest_type": 2, "digest": SHA256}
    assert wanted.text == f"2371 13 2 {SHA256}"
    assert (wanted.algorithm_name, wanted.digest_name) == ("ECDSAP256SHA256", "SHA-256")
    assert ds_record(f"60485 15 4 {SHA384}").digest_type == 4


@pytest.mark.parametrize("number", [8, 13, 14, 15, 16, 5, 7, 10, 17, 23])
def test_the_algorithms_iana_lets_zones_be_signed_with_are_taken(number: int) -> None:
    assert ds_record(f"1 {number} 2 {SHA256}").algorithm == number


@pytest.mark.parametrize(
    ("number", "words"),
    [
        (1, "1 (RSAMD5) must not be used to sign zones any more (IANA, RFC 9904)"),
        (3, "3 (DSA) must not be used to sign zones"),
        (6, "6 (DSA-NSEC3-SHA1) must not be used"),
        (12, "12 (ECC-GOST) must not be used"),
        (0, "0 (Delete DS) is only for CDS records"),
        (2, "2 (Diffie-Hellman) is not a zone-signing algorithm"),
        (252, "252 (Indirect) is reserved"),
        (4, "4 is a reserved algorithm number"),
        (200, "200 is a reserved algorithm number"),
        (99, "99 is not an assigned DNSSEC algorithm"),
        (300, "300 is not an algorithm number (0 to 255)"),
    ],
)
def test_a_bad_algorithm_is_refused_naming_the_field_and_why(number: int, words: str) -> None:
    errors = refused([f"2371 13 2 {SHA256}", f"2371 {number} 2 {SHA256}"])
    assert list(errors) == ["ds[1].algorithm"]
    assert words in errors["ds[1].algorithm"]


def test_a_digest_of_the_wrong_length_names_the_type_and_both_lengths() -> None:
    errors = refused([f"2371 13 2 {SHA256[:-2]}"])
    assert errors == {"ds[0].digest": "has 62 hexadecimal digits; a SHA-256 digest (type 2) has 64"}
    errors = refused([f"2371 13 4 {SHA256}"])
    assert errors == {"ds[0].digest": "has 64 hexadecimal digits; a SHA-384 digest (type 4) has 96"}


def test_digest_types_iana_forbids_for_delegations_are_refused() -> None:
    errors = refused([f"2371 13 1 {SHA256[:40]}", f"2371 13 3 {SHA256}", f"2371 13 9 {SHA256}"])
    assert "1 (SHA-1) must not be used for a delegation" in errors["ds[0].digest_type"]
    assert "digest type 2 (SHA-256)" in errors["ds[0].digest_type"]
    assert "3 (GOST R 34.11-94) must not be used" in errors["ds[1].digest_type"]
    assert "9 is not an assigned digest type" in errors["ds[2].digest_type"]


def test_every_bad_part_is_named_at_once() -> None:
    errors = refused([{"key_tag": 70000, "algorithm": "x", "digest_type": 2, "digest": "ZZ"}])
    assert errors == {
        "ds[0].key_tag": "70000 is not a key tag; a key tag is 0 to 65535",
        "ds[0].algorithm": "'x' is not a number; give the algorithm as a number",
        "ds[0].digest": "has 'Z', which is not a hexadecimal digit (0-9, A-F)",
    }


def test_a_short_line_and_a_record_given_twice_are_refused() -> None:
    errors = refused(["2371 13 2", f"2371 13 2 {SHA256}", f"2371 13 2 {SHA256.lower()}"])
    assert errors["ds[0]"].startswith("'2371 13 2' is not a DS record; write key tag")
    assert errors["ds[2]"] == f"2371 13 2 {SHA256} is given twice"


def test_records_come_back_sorted_and_none_is_none() -> None:
    two = ds_records([f"9 13 2 {SHA256}", f"1 13 2 {SHA256}"])
    assert [r.key_tag for r in two] == [1, 9]
    assert ds_records(None) == ()


def test_an_in_bailiwick_name_server_added_needs_its_addresses() -> None:
    with pytest.raises(ValidationFailed) as caught:
        delegation("kite-makers.com", ["ns1.kite-makers.com", "ns.example.net"])
    (error,) = caught.value.errors
    assert error.field == "glue[ns1.kite-makers.com]"
    assert "under kite-makers.com itself, so the registry needs its address" in error.message

    checked = delegation(
        "kite-makers.com",
        ["NS1.Kite-Makers.com.", "ns.example.net"],
        {"ns1.kite-makers.com": ["192.0.2.1", "2001:DB8:0::1", "192.0.2.1"]},
    )
    assert checked.nameservers == ("ns1.kite-makers.com", "ns.example.net")
    assert checked.hosts == {"ns1.kite-makers.com": ("192.0.2.1", "2001:db8::1")}
    # A host kept from before needs nothing more.
    kept = delegation("kite-makers.com", ["ns1.kite-makers.com"], current=["ns1.kite-makers.com"])
    assert kept.hosts == {}


def test_glue_that_does_not_belong_and_bad_addresses_are_named() -> None:
    with pytest.raises(ValidationFailed) as caught:
        delegation(
            "kite-makers.com",
            ["ns.example.net", "ns2.kite-makers.com", "bad host"],
            {
                "ns.example.net": ["192.0.2.1"],
                "ns9.kite-makers.com": ["192.0.2.2"],
                "ns2.kite-makers.com": ["127.0.0.1", "not-an-ip"],
            },
        )
    errors = {error.field: error.message for error in caught.value.errors}
    assert (
        "is not a valid host name" in errors["nameservers[2]"]
        or "space" in errors["nameservers[2]"]
    )
    assert "is not under kite-makers.com" in errors["glue[ns.example.net]"]
    assert "is not one of the name servers given" in errors["glue[ns9.kite-makers.com]"]
    assert "is a loopback address" in errors["glue[ns2.kite-makers.com][0]"]
    assert "'not-an-ip' is not an IP address" in errors["glue[ns2.kite-makers.com][1]"]
