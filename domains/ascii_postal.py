"""A contact's stored ASCII form of its postal data (the registries' "int" postalInfo), checked."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from domains.contact_fields import FIELDS_BY_NAME
from domains.errors import ValidationFailed
from domains.validation import fail, street, text

KEYS = ("name", "org", "street", "city", "state", "postal_code")
"""The postal items an ASCII form may give (the country code is shared with the data itself);
an item it leaves out is transliterated when the contact is sent."""
FIELD = "ascii"
"""The prefix of its items' field names in messages: `ascii.city`."""


def _first_not_printable_ascii(value: str) -> int | None:
    for index, char in enumerate(value):
        if not " " <= char <= "~":
            return index
    return None


def _ascii_line(field: str, value: Any, max_len: int) -> str | None:
    line = text(field, value, required=False, max_len=max_len)
    if line is None:
        return None
    position = _first_not_printable_ascii(line)
    if position is not None:
        raise fail(
            field,
            f"must be printable ASCII (the registries' int form); "
            f"{line[position]!r} at position {position + 1} is not",
        )
    return line


def check(value: Any) -> dict[str, Any] | None:
    """The ASCII form normalised (only the items given), None when it gives none; raises
    ValidationFailed naming each bad item (`ascii.city`) and why."""
    if value is None or value == {}:
        return None
    if not isinstance(value, Mapping):
        raise fail(FIELD, "must be a set of postal items (name, org, street, city, state, ...)")
    unknown = sorted(str(key) for key in value if key not in KEYS)
    if unknown:
        raise fail(FIELD, f"has no item {', '.join(unknown)}; it holds {', '.join(KEYS)}")
    out: dict[str, Any] = {}
    errors = []
    for key in KEYS:
        field = f"{FIELD}.{key}"
        try:
            if key == "street":
                lines = [
                    _ascii_line(f"{field}[{i + 1}]", line, FIELDS_BY_NAME["street"].max_len)
                    for i, line in enumerate(street(field, value.get(key)))
                ]
                if lines:
                    out[key] = lines
            else:
                line = _ascii_line(field, value.get(key), FIELDS_BY_NAME[key].max_len)
                if line is not None:
                    out[key] = line
        except ValidationFailed as exc:
            errors.extend(exc.errors)
    if errors:
        raise ValidationFailed(errors)
    return out or None


__all__ = ["FIELD", "KEYS", "check"]
