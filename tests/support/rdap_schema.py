"""Our JSON Schema of RDAP answers (written from RFC 9083, not ICANN's) and the checks using it."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource

SCHEMA_FILE = Path(__file__).with_name("rdap_schema.json")
#: The answer kinds, each a definition of the schema file; "answer" picks by the answer's members.
KINDS = ("answer", "domainAnswer", "errorAnswer", "helpAnswer")


@cache
def _schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return schema


@cache
def validator(kind: str = "answer") -> Draft202012Validator:
    """The validator of one kind of answer, with format checking (date-time, ipv4, ipv6)."""
    if kind not in KINDS:
        raise ValueError(f"no RDAP answer kind {kind!r}; one of {KINDS}")
    schema = _schema()
    checker = FormatChecker()
    # Without rfc3339-validator jsonschema passes any date-time silently: make that loud.
    assert checker.conforms("2026-11-27T12:00:00Z", "date-time")
    assert not checker.conforms("2026-11-27 12:00", "date-time"), "date-time is not checked"
    if kind == "answer":
        return Draft202012Validator(schema, format_checker=checker)
    registry: Registry[Any] = Registry().with_resource(
        schema["$id"], Resource.from_contents(schema)
    )
    ref = {"$schema": schema["$schema"], "$ref": f"{schema['$id']}#/$defs/{kind}"}
    return Draft202012Validator(ref, registry=registry, format_checker=checker)


def problems(body: Any, kind: str = "answer") -> list[str]:
    """Every way `body` fails the schema of `kind`, each as "path: message"; [] when it passes."""
    found = sorted(validator(kind).iter_errors(body), key=lambda e: list(e.absolute_path))
    return [f"{e.json_path}: {e.message}" for e in found]


def check_rdap(body: Any, kind: str = "answer") -> Any:
    """Fail the test unless `body` (parsed JSON) is a valid RDAP answer of `kind`; return it."""
    errors = problems(body, kind)
    assert not errors, "not a valid RDAP answer:\n" + "\n".join(errors)
    return body


def rdap_answer(text: str | bytes | None, kind: str = "answer") -> dict[str, Any]:
    """Parse an RDAP answer's JSON text and check it against the schema."""
    assert text, "no RDAP answer"
    body = json.loads(text)
    assert isinstance(body, dict), "an RDAP answer is a JSON object"
    check_rdap(body, kind)
    return body
