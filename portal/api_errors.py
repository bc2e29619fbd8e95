"""A JSON body the API's schema refuses, told field by field in the product's own words."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from domains.errors import FieldError

BODY = "body"
#: JSON's names for what a body or a field was instead of what it should be.
_JSON_KINDS = {
    type(None): "null",
    bool: "true or false",
    int: "a number",
    float: "a number",
    str: "a string",
    list: "an array",
    dict: "an object",
}
#: pydantic's kinds of refusal that mean "not the JSON type the schema asks for".
_OBJECT_TYPES = frozenset(("model_attributes_type", "model_type", "dict_type"))
_TEXT_TYPES = frozenset(("string_type", "string_sub_type"))


@dataclass(frozen=True)
class BodyShape:
    """What a request body holds, for telling a client what is wrong with theirs.

    `fields` gives the fields of each object by its path ("" for the body itself), `choices`
    the values a list field may hold, and `lines` the list fields whose items are named by
    their index (street.0, street.1) because each is checked as a field of its own.
    """

    fields: Mapping[str, Sequence[str]]
    choices: Mapping[str, Sequence[str]]
    lines: frozenset[str]

    def order(self, field: str) -> tuple[int, ...]:
        """Where a field comes in the schema, so errors are listed as the body is written."""
        place: list[int] = []
        path = ""
        for part in field.split("."):
            names = list(self.fields.get(path, ()))
            place.append(names.index(part) if part in names else len(names))
            path = f"{path}.{part}" if path else part
        return tuple(place)


def _kind(value: Any) -> str:
    return _JSON_KINDS.get(type(value), "a value of another kind")


def _listed(names: Sequence[str]) -> str:
    return ", ".join(names[:-1]) + f" and {names[-1]}" if len(names) > 1 else "".join(names)


def _position(document: str, offset: int) -> str:
    line = document.count("\n", 0, offset) + 1
    column = offset - (document.rfind("\n", 0, offset) + 1) + 1
    return f"line {line}, column {column}"


def unreadable_text(shape: BodyShape) -> str:
    """Why a body that is not text at all (not UTF-8) could not be read."""
    return (
        "the request body is not text in UTF-8, so it cannot be JSON; send one JSON object "
        f"with the fields {_listed(list(shape.fields['']))}, encoded in UTF-8"
    )


def _whole_body(error: Mapping[str, Any], document: Any, shape: BodyShape) -> str:
    """Why the body as a whole could not be read: not JSON, empty, or not an object."""
    send = f"send one JSON object with the fields {_listed(list(shape.fields['']))}"
    kind = error.get("type")
    if kind == "json_invalid":
        text = document if isinstance(document, str) else ""
        if not text.strip():
            return f"the request body is empty; {send}"
        location = error.get("loc", ())
        offset = location[1] if len(location) > 1 and isinstance(location[1], int) else 0
        return (
            f"the request body is not valid JSON: the first error is at "
            f"{_position(text, offset)}; {send}"
        )
    if kind == "missing":
        return f"the request body is empty; {send}"
    given = error.get("input")
    if isinstance(given, bytes | bytearray):
        return (
            "the request body was not sent as JSON; send it with the header "
            f"Content-Type: application/json, as one JSON object with the fields "
            f"{_listed(list(shape.fields['']))}"
        )
    return f"the request body is {_kind(given)}, not a JSON object; {send}"


def _field_of(location: Sequence[Any], shape: BodyShape) -> str:
    """The field a location names: object keys by dots, a list's index only for `lines`."""
    parts: list[str] = []
    for part in location:
        if isinstance(part, int):
            if ".".join(parts) in shape.lines:
                parts.append(str(part))
            continue
        parts.append(str(part))
    return ".".join(parts) or BODY


def _message(error: Mapping[str, Any], field: str, shape: BodyShape) -> str:
    """What is wrong with one field's value, and what it should be."""
    kind = error.get("type", "")
    given = error.get("input")
    context = error.get("ctx") or {}
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        parent, _, _name = field.rpartition(".")
        known = list(shape.fields.get(parent, ()))
        where = f"of {parent}" if parent else "of a change request"
        return f"is not a field {where}; the fields are {_listed(known)}"
    if kind in _TEXT_TYPES:
        return f"must be text (a JSON string), not {_kind(given)}"
    if kind == "string_too_long":
        length = len(given) if isinstance(given, str) else "too many"
        return f"is {length} characters long; at most {context.get('max_length')} are allowed"
    if kind == "list_type":
        return f"must be a list (a JSON array), not {_kind(given)}"
    if kind == "too_long":
        return (
            f"has {context.get('actual_length')} items; "
            f"at most {context.get('max_length')} are allowed"
        )
    if kind == "literal_error" and field in shape.choices:
        return f"{given!r} is not one of: {', '.join(shape.choices[field])}"
    if kind in _OBJECT_TYPES:
        inner = list(shape.fields.get(field, ()))
        fields = f" with the fields {_listed(inner)}" if inner else ""
        return f"must be a JSON object{fields}, not {_kind(given)}"
    return "has a value this API does not take here; see the schema at /api/v1/openapi.json"


def body_errors(
    errors: Sequence[Mapping[str, Any]], document: Any, shape: BodyShape
) -> list[FieldError]:
    """The refused fields of a body, named as the API names them, in the order of the schema.

    `errors` are the validation errors of the body (pydantic's, located under "body"),
    `document` the body as received. A body that is not a JSON object at all is one error on
    the field `body`.
    """
    refused: list[FieldError] = []
    for error in errors:
        location = [part for part in error.get("loc", ()) if part != BODY]
        if error.get("type") == "json_invalid" or not location:
            return [FieldError(BODY, _whole_body(error, document, shape))]
        field = _field_of(location, shape)
        found = FieldError(field, _message(error, field, shape))
        if found not in refused:
            refused.append(found)
    return sorted(refused, key=lambda e: shape.order(e.field))
