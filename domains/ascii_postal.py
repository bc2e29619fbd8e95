"""A contact's ASCII postal data (the registries' "int" postalInfo): checked, transliterated."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from anyascii import anyascii

from domains.contact_fields import FIELDS_BY_NAME
from domains.errors import ValidationFailed
from domains.validation import fail, street, text

KEYS = ("name", "org", "street", "city", "state", "postal_code")
"""The postal items an ASCII form may give (the country code is shared with the data itself);
an item it leaves out is transliterated when the contact is sent."""
FIELD = "ascii"
"""The prefix of its items' field names in messages: `ascii.city`."""
LINE_LIMIT, PC_LIMIT = 255, 16
"""The EPP contact schema's limits of a postal line and of a postal code."""


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


def is_ascii(data: Mapping[str, Any]) -> bool:
    """True when every postal item of the contact data (KEYS) is ASCII: the registries get it
    as it is, and a stored ASCII form is not used."""
    for key in KEYS:
        value = data.get(key)
        values = value if isinstance(value, list | tuple) else [value]
        if any(isinstance(v, str) and not v.isascii() for v in values):
            return False
    return True


def transliterate(value: str | None, limit: int = LINE_LIMIT) -> str | None:
    """value transliterated to ASCII (anyascii), spaces collapsed, within the schema's limit."""
    if value is None:
        return None
    return " ".join(anyascii(value).split())[:limit].strip() or None


def suggested(data: Mapping[str, Any]) -> dict[str, Any]:
    """The transliteration of each postal item the data has (street: its lines), as the
    registries get an item the stored form leaves out."""
    out: dict[str, Any] = {}
    for key in KEYS:
        value = data.get(key)
        if key == "street":
            lines = [t for t in (transliterate(v) for v in value or () if v) if t]
            if lines:
                out[key] = lines
        elif isinstance(value, str) and value.strip():
            line = transliterate(value, PC_LIMIT if key == "postal_code" else LINE_LIMIT)
            if line:
                out[key] = line
    return out


def without_stale(
    stored: Mapping[str, Any] | None, before: Mapping[str, Any], after: Mapping[str, Any]
) -> dict[str, Any] | None:
    """The stored ASCII form less the items whose postal item of the data changed.

    An item of the ASCII form is the ASCII form of the same item of the data (`city` of
    `city`, `street` of the street lines as a whole). When an edit changes a postal item and
    gives no ASCII form itself (no `ascii_postal` in the change), the stored item of it no
    longer corresponds: it is dropped, and that item is transliterated from the new value when
    the contact is sent. The items of unchanged data are kept (a new city does not make a
    stored ASCII name wrong). An edit that gives `ascii_postal` sets the whole form as given,
    so it is never thinned here. Values are compared as validated (`validation.contact`), so a
    change of spacing the checks normalise away is no change. None when nothing is left.
    """
    if not stored:
        return None
    kept = {
        key: value
        for key, value in stored.items()
        if _plain(before.get(key)) == _plain(after.get(key))
    }
    return kept or None


def _plain(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return [v for v in value if v] or None
    return value or None


__all__ = [
    "FIELD",
    "KEYS",
    "LINE_LIMIT",
    "PC_LIMIT",
    "check",
    "is_ascii",
    "suggested",
    "transliterate",
    "without_stale",
]
