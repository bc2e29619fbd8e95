"""Announcement send rate against a bare render-and-send loop, measured in the same run.

    python benchmarks/announce_rate.py [--recipients 100000] [--template new_control_panel]
                                       [--targets eml,smtp] [--dir DIR]

One aiosmtpd (`python -m aiosmtpd`, its discarding Sink handler) runs in a process of its own
for the whole run. Per target:

1. A fresh migrated SQLite store gets N customer accounts (bulk Core inserts, not timed) and a
   supervisor ("bench").
2. announce: `Announcements.start` (the run's row and one queued notice per account, one
   INSERT ... SELECT) and `Announcements.send` (notice delivery: per notice a claim, which
   reads the account's opt-out and address state in its transaction, render, send, and the
   record of the outcome), timed together, into
   - eml: the outbox folder (`FolderMailer`: one file per notice, written, synced, linked);
   - smtp: the aiosmtpd, through `SmtpMailer` (one connection per delivery pass).
3. bare loop, the baseline of both: the same mails, made by the same code (template, context,
   List-Unsubscribe headers) for the same accounts (read beforehand, not timed), sent with
   `smtplib` over one connection to the same aiosmtpd: no database, no claim, no record.
   For the eml target, a plain `write_bytes` of each mail is also shown, for information.

Printed per target: msg/s of the announcement and of the bare smtplib loop, and their ratio
(target >= 0.7).
"""

from __future__ import annotations

import argparse
import shutil
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, select
from sqlmodel import col

from domains.announcements import Announcements, notice_template
from domains.mail_compose import Recipient, compose
from domains.mailer import NOTICE_HEADER, FolderMailer, Mailer, SmtpMailer
from domains.models import Account, Notice, StaffMember, utcnow
from domains.notices import base_context, unsubscribe_link
from domains.settings import Settings
from domains.store import Store
from domains.vocabulary import NoticeCategory, StaffRole
from portal.links import PortalLinks

TARGET_RATIO = 0.7
ACTOR = "staff:bench"
TARGETS = ("eml", "smtp")


@dataclass(frozen=True)
class Result:
    """One target's rates (msg/s)."""

    target: str
    recipients: int
    announce_sent: int
    announce_rate: float
    bare_sent: int
    bare_rate: float  # the bare smtplib loop
    bare_write_rate: float | None = None  # eml: the bare write_bytes loop, for information

    @property
    def ratio(self) -> float:
        return self.announce_rate / self.bare_rate if self.bare_rate else 0.0

    def line(self) -> str:
        where = "aiosmtpd" if self.target == "smtp" else ".eml files"
        met = "met" if self.ratio >= TARGET_RATIO else "NOT met"
        text = (
            f"announce {self.recipients:,} -> {where}: {self.announce_rate:,.0f} msg/s; "
            f"bare smtplib loop {self.bare_rate:,.0f} msg/s; ratio {self.ratio:.2f} "
            f"(target >= {TARGET_RATIO}): {met}"
        )
        if self.bare_write_rate:
            text += (
                f"\n  (bare write_bytes loop into .eml files, no fsync: "
                f"{self.bare_write_rate:,.0f} msg/s)"
            )
        return text


def fresh_store(folder: Path) -> Store:
    """A migrated, empty SQLite store in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{folder / 'announce.db'}"
    return Store.open(settings=Settings(database_url=url, data_dir=folder / "data"))


def add_customers(store: Store, count: int, chunk: int = 10_000) -> None:
    """`count` accounts (addresses under example.com) and the supervisor `bench`."""
    now = utcnow()
    with store.write() as session:
        session.execute(
            insert(StaffMember),
            [
                {
                    "login": "bench",
                    "display_name": "Bench",
                    "roles": [StaffRole.SUPERVISOR],
                    "active": True,
                    "created_by": "system:bench",
                    "created_at": now,
                    "version": 1,
                }
            ],
        )
        for start in range(1, count + 1, chunk):
            rows = [
                {
                    "number": f"BA-{n:07d}",
                    "name": f"Customer {n}",
                    "email": f"customer{n}@example.com",
                    "street": ["1 Example Street"],
                    "city": "Berlin",
                    "country": "DE",
                    "status": "active",
                    "created_at": now,
                    "updated_at": now,
                    "version": 1,
                }
                for n in range(start, min(start + chunk, count + 1))
            ]
            session.execute(insert(Account), rows)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def smtp_sink() -> Iterator[int]:
    """aiosmtpd with its discarding Sink handler, in a process of its own; its port."""
    port = free_port()
    command = [sys.executable, "-m", "aiosmtpd", "-n", "-c", "aiosmtpd.handlers.Sink"]
    server = subprocess.Popen(
        [*command, "-l", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:  # until it answers
            try:
                with smtplib.SMTP("127.0.0.1", port, timeout=5) as probe:
                    probe.noop()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("aiosmtpd did not start") from None
                time.sleep(0.05)
        yield port
    finally:
        server.terminate()
        server.wait(10)


def announce(store: Store, template: str, mailer: Mailer) -> tuple[int, float]:
    """Start and send a run; (sent, seconds)."""
    announcements = Announcements(store)
    began = time.perf_counter()
    run = announcements.start(ACTOR, template)
    done = announcements.send(
        ACTOR, run.reference, mailer=mailer, links=PortalLinks(store.settings)
    )
    return done.sent, time.perf_counter() - began


def customers(store: Store) -> list[Account]:
    """The accounts an announcement goes to (none has opted out here)."""
    with store.read() as session:
        return list(
            session.execute(
                select(Account)
                .where(col(Account.marketing_opt_out_at).is_(None))
                .order_by(col(Account.id))
            ).scalars()
        )


def bare_messages(
    settings: Settings, template: str, accounts: list[Account]
) -> Iterator[EmailMessage]:
    """The same mails as the announcement's, made by the same code (`base_context`,
    `unsubscribe_link`, `compose`) for each account, with no store behind it: no claim, no
    opt-out check, no record."""
    links = PortalLinks(settings)
    queued, name = utcnow(), notice_template(template)
    for account in accounts:
        notice = Notice(
            id=account.id,
            created_at=queued,
            category=NoticeCategory.MARKETING,
            template=name,
            recipient="account",
            account_id=account.id,
        )
        recipient = Recipient(account.name, account.email, "account", account)
        values = base_context(settings, links, notice, recipient)
        values["unsubscribe_url"], headers = unsubscribe_link(settings, links, notice, recipient)
        yield compose(settings, notice, recipient, values, headers)


def bare_smtp(store: Store, template: str, port: int) -> tuple[int, float]:
    accounts = customers(store)
    sent, began = 0, time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        smtp.ehlo()
        for message in bare_messages(store.settings, template, accounts):
            smtp.send_message(message)
            sent += 1
    return sent, time.perf_counter() - began


def bare_eml(store: Store, template: str, folder: Path) -> tuple[int, float]:
    folder.mkdir(parents=True, exist_ok=True)
    accounts = customers(store)
    sent, began = 0, time.perf_counter()
    for message in bare_messages(store.settings, template, accounts):
        (folder / f"bare-{int(message[NOTICE_HEADER]):010d}.eml").write_bytes(bytes(message))
        sent += 1
    return sent, time.perf_counter() - began


def measure(
    recipients: int,
    workdir: Path,
    *,
    template: str = "new_control_panel",
    targets: tuple[str, ...] = TARGETS,
    say: Callable[[str], None] = lambda _text: None,
) -> list[Result]:
    """Each target: a fresh store of `recipients` accounts, announce, then the bare loops."""
    results = []
    with smtp_sink() as port:
        for target in targets:
            store = fresh_store(workdir / target)
            try:
                add_customers(store, recipients)
                say(f"{target}: {recipients:,} accounts written")
                mailer: Mailer
                if target == "eml":
                    mailer = FolderMailer(store.settings.outbox_dir())
                else:
                    mailer = SmtpMailer("127.0.0.1", port, starttls=False, timeout=10)
                sent, seconds = announce(store, template, mailer)
                bare, bare_seconds = bare_smtp(store, template, port)
                written = None
                if target == "eml":
                    count, write_seconds = bare_eml(store, template, workdir / target / "bare")
                    written = count / write_seconds
                results.append(
                    Result(
                        target,
                        recipients,
                        sent,
                        sent / seconds,
                        bare,
                        bare / bare_seconds,
                        written,
                    )
                )
                say(results[-1].line())
            finally:
                store.close()
    return results


def main() -> int:
    from domains import speedups

    speedups.install()  # the benchmarks measure what the command line runs
    parser = argparse.ArgumentParser(
        description="Announcement send rate vs a bare render-and-send loop (same run)."
    )
    parser.add_argument("--recipients", type=int, default=100_000, help="accounts to announce to")
    parser.add_argument("--template", default="new_control_panel", help="announcement template")
    parser.add_argument(
        "--targets", default=",".join(TARGETS), help="comma-separated: eml, smtp (default both)"
    )
    parser.add_argument("--dir", type=Path, help="work folder (default: a temporary one)")
    args = parser.parse_args()
    targets = tuple(t.strip() for t in args.targets.split(",") if t.strip())
    unknown = set(targets) - set(TARGETS)
    if unknown:
        parser.error(f"unknown target(s): {', '.join(sorted(unknown))}")
    workdir = args.dir or Path(tempfile.mkdtemp(prefix="announce-bench-"))
    try:
        results = measure(
            args.recipients,
            workdir,
            template=args.template,
            targets=targets,
            say=lambda text: print(text, file=sys.stderr, flush=True),
        )
    finally:
        if args.dir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    for result in results:
        print(result.line())
    return 0 if all(r.ratio >= TARGET_RATIO for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
