"""Hardened XML parsing for EPP frames that come from the network."""

from __future__ import annotations

import re
import threading

from lxml import etree

DEFAULT_MAX_BYTES = 1024 * 1024

# Checked on the raw bytes before libxml2 sees them, so a hostile DTD is never even tokenised.
_DECLARATIONS = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)

_local = threading.local()


class EppParseError(ValueError):
    """A frame that is not acceptable EPP XML; a server answers it with result code 2001."""

    code = 2001


def _parser() -> etree.XMLParser:
    # lxml parsers keep per-parse state, so each thread gets its own.
    parser = getattr(_local, "parser", None)
    if parser is None:
        parser = etree.XMLParser(
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            dtd_validation=False,
            huge_tree=False,
            remove_comments=False,
        )
        _local.parser = parser
    return parser


def parse_frame(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> etree._Element:
    """Parse one EPP frame, refusing oversized, non-UTF-8, malformed and DTD-bearing input."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"an EPP frame is bytes, not {type(data).__name__}")
    data = bytes(data)
    if len(data) > max_bytes:
        raise EppParseError(f"frame is {len(data)} bytes; the limit is {max_bytes} bytes")
    if not data.strip():
        raise EppParseError("frame is empty")
    if b"\x00" in data:
        # Also what UTF-16 looks like; EPP over this codec is UTF-8 only.
        raise EppParseError("frame contains NUL bytes; EPP frames must be UTF-8 XML")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise EppParseError(f"frame is not valid UTF-8 (byte {exc.start})") from None
    declaration = _DECLARATIONS.search(data)
    if declaration:
        what = "a DOCTYPE" if declaration[1].upper() == b"DOCTYPE" else "an ENTITY declaration"
        raise EppParseError(f"frame has {what}; DTDs and entities are refused")
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        raise EppParseError(f"malformed XML: {exc}") from None
    docinfo = root.getroottree().docinfo
    # Second line of defence in case the byte scan is ever bypassed.
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise EppParseError("frame has a DOCTYPE; DTDs and entities are refused")
    if (docinfo.encoding or "UTF-8").upper() not in {"UTF-8", "UTF8"}:
        raise EppParseError(f"frame declares encoding {docinfo.encoding}; EPP frames must be UTF-8")
    if next(root.iter(etree.Entity), None) is not None:
        raise EppParseError("frame has an entity reference; DTDs and entities are refused")
    return root
