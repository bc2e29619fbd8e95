"""The table of contact fields: what it refuses, and that the store keeps the same fields."""

from __future__ import annotations

from dataclasses import replace

import pytest

from domains.contact_fields import (
    CONTACT_FIELDS,
    REQUEST_CONSENTS,
    REQUEST_FIELDS,
    ContactFieldsError,
    check_fields,
    field,
)
from domains.store import CONTACT_DATA_FIELDS


def test_the_store_keeps_the_fields_of_the_table_in_its_order():
    assert tuple(row.name for row in CONTACT_FIELDS) == CONTACT_DATA_FIELDS


def test_a_request_offers_consent_to_the_consentable_fields_it_asks_for():
    assert list(REQUEST_CONSENTS) == [n for n in REQUEST_FIELDS if field(n).consentable]
    assert "fax" not in REQUEST_CONSENTS and "state" not in REQUEST_CONSENTS


@pytest.mark.parametrize(
    "rows, words",
    [
        ((*CONTACT_FIELDS, CONTACT_FIELDS[0]), "listed twice"),
        ((replace(CONTACT_FIELDS[0], max_len=0),), "limits"),
        ((replace(field("voice_ext"), part_of="state"),), "part of an earlier"),
        ((field("voice"), replace(field("voice_ext"), consent_label="Ext")), "its consent"),
    ],
)
def test_a_table_its_readers_could_not_honour_is_refused(rows, words):
    with pytest.raises(ContactFieldsError, match=words):
        check_fields(rows, ())


def test_request_fields_must_be_in_the_table():
    with pytest.raises(ContactFieldsError, match="unknown"):
        check_fields(CONTACT_FIELDS, ("org", "shoe_size"))
