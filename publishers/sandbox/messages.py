"""The sandbox's poll queue (RFC 5730 section 2.9.2.3): service messages per registrar, and the
transfer that queues one: a domain moved away to another registrar (RFC 5731 trnData)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime

from publishers.epp.model import DomainTransfer
from publishers.sandbox.records import date_or_none
from publishers.sandbox.store import utc_now

APPROVED = ("serverApproved", "clientApproved")
DEFAULT_GAINING = "other-registrar"


class TransferRefused(ValueError):
    """A transfer the sandbox cannot make (no such domain, already the gaining sponsor...)."""


@dataclass(frozen=True, kw_only=True)
class Message:
    """One queued service message: its id, when it was queued, its text and its trnData."""

    id: str
    q_date: datetime
    text: str
    transfer: DomainTransfer


def _message(row: sqlite3.Row) -> Message:
    return Message(
        id=str(row["id"]),
        q_date=datetime.fromisoformat(row["q_date"]),
        text=row["msg"],
        transfer=DomainTransfer(
            name=row["domain"],
            status=row["tr_status"],
            re_id=row["re_id"],
            re_date=datetime.fromisoformat(row["re_date"]),
            ac_id=row["ac_id"],
            ac_date=datetime.fromisoformat(row["ac_date"]),
            ex_date=date_or_none(row["ex_date"]),
        ),
    )


def first(db: sqlite3.Connection, client_id: str) -> tuple[int, Message | None]:
    """How many messages wait for the registrar, and the oldest of them."""
    count = db.execute("SELECT count(*) FROM message WHERE cl_id = ?", (client_id,)).fetchone()[0]
    row = db.execute(
        "SELECT * FROM message WHERE cl_id = ? ORDER BY id LIMIT 1", (client_id,)
    ).fetchone()
    return count, None if row is None else _message(row)


def acknowledge(db: sqlite3.Connection, client_id: str, msg_id: str) -> int | None:
    """Dequeue the registrar's message msg_id: the number left, None when it has no such one."""
    if not msg_id.isdigit():
        return None
    deleted = db.execute(
        "DELETE FROM message WHERE id = ? AND cl_id = ?", (int(msg_id), client_id)
    ).rowcount
    if not deleted:
        return None
    return db.execute("SELECT count(*) FROM message WHERE cl_id = ?", (client_id,)).fetchone()[0]


def transfer_out(
    db: sqlite3.Connection,
    name: str,
    *,
    to: str = DEFAULT_GAINING,
    status: str = "serverApproved",
    now: datetime | None = None,
) -> Message:
    """Move a domain to the registrar `to` (a transfer approved by the registry or by the
    losing registrar, `status`) and queue the notice for the losing one; the queued message.

    One transaction: the domain changes sponsor and the message is queued, or neither.
    """
    if status not in APPROVED:
        raise TransferRefused(f"status must be one of {', '.join(APPROVED)}, not {status!r}")
    name = name.strip().rstrip(".").lower()
    now = now or utc_now()
    db.execute("BEGIN IMMEDIATE")
    try:
        row = db.execute(
            "SELECT seq, cl_id, ex_date FROM domain WHERE name = ?", (name,)
        ).fetchone()
        if row is None:
            raise TransferRefused(f"the sandbox holds no domain {name}")
        losing = row["cl_id"]
        if losing == to:
            raise TransferRefused(f"{name} is already sponsored by {to}")
        db.execute(
            "UPDATE domain SET cl_id = ?, up_id = ?, up_date = ? WHERE seq = ?",
            (to, to, now.isoformat(), row["seq"]),
        )
        text = f"Transfer of {name} to {to} approved ({status})"
        msg_id = db.execute(
            "INSERT INTO message (cl_id, q_date, msg, domain, tr_status, re_id, re_date, ac_id,"
            " ac_date, ex_date) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                losing,
                now.isoformat(),
                text,
                name,
                status,
                to,
                now.isoformat(),
                losing if status == "clientApproved" else "sandbox",
                now.isoformat(),
                row["ex_date"],
            ),
        ).lastrowid
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    found = db.execute("SELECT * FROM message WHERE id = ?", (msg_id,)).fetchone()
    return _message(found)
