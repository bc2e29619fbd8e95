"""Validation of EPP frames against the IETF schemas shipped in ``schemas/``."""

from __future__ import annotations

import functools
import threading
from pathlib import Path

from lxml import etree

from publishers.epp.xmlsafe import DEFAULT_MAX_BYTES, EppParseError, parse_frame

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"

# XMLSchema keeps its error log on the object; the lock keeps one thread's errors out of another's.
_lock = threading.Lock()


class EppSchemaError(EppParseError):
    """A well-formed frame that the EPP schemas reject (still result code 2001)."""


@functools.cache
def epp_schema() -> etree.XMLSchema:
    """The XMLSchema of index.xsd, which imports every EPP schema we speak."""
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    return etree.XMLSchema(etree.parse(str(SCHEMA_DIR / "index.xsd"), parser))


def validate_tree(root: etree._Element) -> None:
    """Raise EppSchemaError with the first schema error (and its line) unless root is valid EPP."""
    schema = epp_schema()
    with _lock:
        if schema.validate(root):
            return
        first = schema.error_log[0]
    raise EppSchemaError(f"frame does not match the EPP schema: line {first.line}: {first.message}")


def validate_frame(frame: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
    """Parse frame safely and raise EppSchemaError (or EppParseError) unless it is valid EPP."""
    validate_tree(parse_frame(frame, max_bytes=max_bytes))
