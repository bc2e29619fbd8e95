"""What a sandbox handler answers (a typed Reply, or a Refusal raised) and the frames made of it."""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree

from publishers.epp.model import CONTACT_NS, DOMAIN_NS, EPP_NS, MsgQ
from publishers.epp.server.responses import RESULT_MESSAGES
from publishers.epp.xmlwrite import epp_root, serialize, sub

Value = tuple[str, str, str]
"""The offending value of an <extValue>: (namespace, tag, text)."""

_CLTRID = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?clTRID>\s*([A-Za-z0-9._:\-]{3,64})\s*</")


@dataclass(frozen=True, kw_only=True)
class Reply:
    """A handler's answer: result code, optional message and resData, and what follows it.

    reason (with value, None for <undef/>) puts an <extValue> in the result; msgq is the poll
    queue's state; extension goes into the response's <extension>; committed says a change was
    stored (fault injection may then drop the answer); close ends the connection.
    """

    code: int
    msg: str | None = None
    res_data: etree._Element | None = None
    msgq: MsgQ | None = None
    extension: etree._Element | None = None
    value: Value | None = None
    reason: str | None = None
    committed: bool = False
    close: bool = False


class Refusal(Exception):
    """A command refused with an EPP result code (and optionally the offending value)."""

    def __init__(
        self,
        code: int,
        msg: str | None = None,
        *,
        value: Value | None = None,
        reason: str | None = None,
    ) -> None:
        super().__init__(code, msg)
        self.code = code
        self.msg = msg
        self.value = value
        self.reason = reason

    def reply(self) -> Reply:
        """The refusal as the reply sent for it."""
        return Reply(code=self.code, msg=self.msg, value=self.value, reason=self.reason)


def contact_value(handle: str) -> Value:
    """A contact id as the offending value."""
    return (CONTACT_NS, "id", handle)


def domain_value(name: str) -> Value:
    """A domain name as the offending value."""
    return (DOMAIN_NS, "name", name)


def _one_line(text: str, limit: int = 400) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def answer_with_value(
    code: int,
    msg: str | None,
    cltrid: str | None,
    svtrid: str,
    value: Value | None,
    reason: str,
) -> bytes:
    """A response whose result carries <extValue> with the offending value and the reason."""
    root = epp_root()
    response = sub(root, EPP_NS, "response")
    result = sub(response, EPP_NS, "result", code=str(code))
    sub(result, EPP_NS, "msg", msg or RESULT_MESSAGES[code])
    ext_value = sub(result, EPP_NS, "extValue")
    holder = sub(ext_value, EPP_NS, "value")
    if value is None:
        sub(holder, EPP_NS, "undef")
    else:
        ns, tag, text = value
        prefix = ns.rsplit(":", 1)[1].split("-", 1)[0]
        element = etree.SubElement(holder, f"{{{ns}}}{tag}", nsmap={prefix: ns})
        element.text = text
    sub(ext_value, EPP_NS, "reason", _one_line(reason))
    tr_id = sub(response, EPP_NS, "trID")
    if cltrid is not None:
        sub(tr_id, EPP_NS, "clTRID", cltrid)
    sub(tr_id, EPP_NS, "svTRID", svtrid)
    return serialize(root)


def sniff_cltrid(frame: bytes) -> str | None:
    """The clTRID of a frame we could not parse, when it is plainly there (to echo it)."""
    found = _CLTRID.search(frame[:65536])
    return found[1].decode("ascii") if found else None
