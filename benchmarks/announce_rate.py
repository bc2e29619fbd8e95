"""Announcement send rate against a bare render-and-send loop, measured in the same run.

    python benchmarks/announce_rate.py [--recipients 100000] [--template new_control_panel]
                                       [--targets eml,smtp] [--dir DIR]

1. A fresh migrated SQLite store gets N customer accounts (bulk Core inserts, not timed) and a
   supervisor ("bench").
2. announce: `Announcements.start` (the run's row and one queued notice per account, one
   INSERT ... SELECT) and `Announcements.send` (notice delivery: claim, opt-out check, render,
   send, record, per notice), timed together, into each target:
   - eml: the outbox folder (`FolderMailer`: one file per notice, written, synced, linked);
   - smtp: aiosmtpd (`python -m aiosmtpd`, its Sink handler) in a process of its own, through
     `SmtpMailer` (one connection per message, as the product sends).
3. bare loop: the same accounts (read beforehand, not timed), the same Jinja2 template rendered
   for each, the same headers, then `smtplib` over one connection kept open, or a plain
   `write_bytes` of the .eml file: no database, no claim, no record, no fsync.

Printed per target: msg/s of each and the ratio announce / bare (target >= 0.7); for
transparency, the bare SMTP loop also with one connection per message, as `SmtpMailer` sends.
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
from email.utils import format_datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from jinja2 import Undefined
from sqlalchemy import insert, select
from sqlmodel import col

from domains.announcements import Announcements, notice_template
from domains.mailer import NOTICE_HEADER, FolderMailer, Mailer, SmtpMailer
from domains.models import Account, StaffMember, utcnow
from domains.notices import environment
from domains.settings import Settings
from domains.store import Store
from domains.vocabulary import StaffRole
from portal.links import PortalLinks

TARGET_RATIO = 0.7
ACTOR = "staff:bench"
TARGETS = ("eml", "smtp")


@dataclass(frozen=True)
class Result:
    """One target's rates."""

    target: str
    recipients: int
    announce_sent: int
    announce_rate: float
    bare_sent: int
    bare_rate: float
    bare_each_rate: float | None = None  # smtp: one connection per message

    @property
    def ratio(self) -> float:
        return self.announce_rate / self.bare_rate if self.bare_rate else 0.0

    def line(self) -> str:
        where = "aiosmtpd" if self.target == "smtp" else ".eml files"
        met = "met" if self.ratio >= TARGET_RATIO else "NOT met"
        text = (
            f"announce {self.recipients:,} -> {where}: {self.announce_rate:,.0f} msg/s; "
            f"bare {'smtplib' if self.target == 'smtp' else 'write_bytes'} loop "
            f"{self.bare_rate:,.0f} msg/s; ratio {self.ratio:.2f} "
            f"(target >= {TARGET_RATIO}): {met}"
        )
        if self.bare_each_rate:
            text += (
                f"\n  (bare smtplib, one connection per message as SmtpMailer: "
                f"{self.bare_each_rate:,.0f} msg/s; ratio "
                f"{self.announce_rate / self.bare_each_rate:.2f})"
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


def bare_messages(store: Store, template: str) -> Iterator[EmailMessage]:
    """The announcement rendered and built, per account, with no store behind it."""
    settings = store.settings
    with store.read() as session:
        accounts = session.execute(
            select(col(Account.id), col(Account.number), col(Account.name), col(Account.email))
            .where(col(Account.marketing_opt_out_at).is_(None))
            .order_by(col(Account.id))
        ).all()
    # Lenient: a key the product adds to every mail's context renders empty here.
    env = environment().overlay(undefined=Undefined)
    path = f"announcements/{template}"
    text_template = env.get_template(f"{path}.txt")
    try:
        html_template: Any = env.get_template(f"{path}.html")
    except Exception:
        html_template = None
    base = settings.portal_base_url.rstrip("/")
    for account_id, number, name, address in accounts:
        values = {
            "category": "marketing",
            "template": notice_template(template),
            "audience": "account",
            "recipient_name": name,
            "account_number": number,
            "company": settings.registrar.name,
            "support_url": settings.registrar.url,
            "portal_base_url": base,
            "request": None,
            "domain": None,
            "status_url": base,
        }
        module = text_template.make_module(values)
        subject = " ".join(str(getattr(module, "subject", "")).split())
        message = EmailMessage()
        message["From"] = settings.mail.from_address
        message["To"] = f"{name} <{address}>"
        message["Subject"] = subject
        message["Date"] = format_datetime(utcnow())
        message["Message-ID"] = f"<bare-{account_id}@interlink.example.net>"
        message["Precedence"] = "bulk"
        message[NOTICE_HEADER] = str(account_id)
        message.set_content(str(module))
        if html_template is not None:
            message.add_alternative(
                html_template.render({**values, "subject": subject}), subtype="html"
            )
        yield message


def bare_smtp(store: Store, template: str, port: int, *, reuse: bool) -> tuple[int, float]:
    sent, began = 0, time.perf_counter()
    if reuse:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
            smtp.ehlo()
            for message in bare_messages(store, template):
                smtp.send_message(message)
                sent += 1
    else:
        for message in bare_messages(store, template):
            with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
                smtp.ehlo()
                smtp.send_message(message)
            sent += 1
    return sent, time.perf_counter() - began


def bare_eml(store: Store, template: str, folder: Path) -> tuple[int, float]:
    folder.mkdir(parents=True, exist_ok=True)
    sent, began = 0, time.perf_counter()
    for message in bare_messages(store, template):
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
    """Each target: a fresh store of `recipients` accounts, announce, then the bare loop."""
    results = []
    for target in targets:
        store = fresh_store(workdir / target)
        try:
            add_customers(store, recipients)
            say(f"{target}: {recipients:,} accounts written")
            if target == "eml":
                outbox = store.settings.outbox_dir()
                sent, seconds = announce(store, template, FolderMailer(outbox))
                bare, bare_seconds = bare_eml(store, template, workdir / target / "bare")
                each = None
            else:
                with smtp_sink() as port:
                    mailer = SmtpMailer("127.0.0.1", port, starttls=False, timeout=10)
                    sent, seconds = announce(store, template, mailer)
                    bare, bare_seconds = bare_smtp(store, template, port, reuse=True)
                    # The per-connection loop on a tenth of them: it only shows the transport.
                    tenth = max(1, recipients // 10)
                    each_sent, each_seconds = _limited(store, template, port, tenth)
                    each = each_sent / each_seconds
            results.append(
                Result(target, recipients, sent, sent / seconds, bare, bare / bare_seconds, each)
            )
            say(results[-1].line())
        finally:
            store.close()
    return results


def _limited(store: Store, template: str, port: int, count: int) -> tuple[int, float]:
    sent, began = 0, time.perf_counter()
    for message in bare_messages(store, template):
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
            smtp.ehlo()
            smtp.send_message(message)
        sent += 1
        if sent >= count:
            break
    return sent, time.perf_counter() - began


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
