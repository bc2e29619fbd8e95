"""`interlink requests ...`: staff handle technical-contact change requests from the shell."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from domains import validation
from domains.changes import Workflow
from domains.request_mail import Outcome
from domains.staff import Permission
from domains.store import Store
from domains.vocabulary import (
    AccessPurpose,
    NoticeStatus,
    RequestChannel,
    RequestState,
    RequestTarget,
)
from portal.links import PortalLinks
from tui.commands.common import acting, console, opened_store, user_errors

app = typer.Typer(help="Technical-contact change requests.", no_args_is_help=True)

DB_OPTION = typer.Option(None, "--db", help="Database URL (default: settings).")


def workflow(store: Store) -> Workflow:
    """The workflow with the portal's links, for commands whose mail carries them."""
    return Workflow(store, PortalLinks(store.settings))


def deliver(flow: Workflow, outcome: Outcome) -> None:
    """Send the notices a transition queued and say if any could not go out."""
    done = flow.deliver(outcome)
    failed = sum(1 for n in done if n.status == NoticeStatus.FAILED)
    waiting = sum(1 for n in done if n.status == NoticeStatus.QUEUED)
    if failed:
        console.print(
            f"[yellow]{failed} notice(s) could not be sent; `interlink notices` says why[/]"
        )
    if waiting:
        console.print(
            f"[yellow]{waiting} notice(s) will be sent later (the mail relay or the "
            "database did not answer); `interlink notices` lists them[/]"
        )


def checked(reference: str) -> str:
    """The reference as stored (upper case); a malformed one is one line and exit code 1."""
    with user_errors():
        key = validation.reference(reference)
    return key


def _describe(flow: Workflow, reference: str, actor: str) -> Table:
    parties = flow.parties(reference)
    request, domain = parties.request, parties.domain
    old, new = parties.old_tech, parties.new_tech
    looked = [contact.handle for contact in (old, new) if contact is not None]
    flow.store.record_looks(actor, AccessPurpose.REQUEST_COMMAND, looked, domain=domain.name)
    table = Table(title=f"{request.reference}: {domain.unicode_name} ({request.state})")
    table.add_column("field")
    table.add_column("value")
    proposed = (
        "Interlink (house contact)"
        if request.target == RequestTarget.HOUSE
        else f"{request.proposed.get('org')} / {request.proposed.get('name')} "
        f"<{request.proposed.get('email')}> {request.proposed.get('voice')}"
    )
    rows = [
        ("channel", request.channel),
        ("entered by", request.entered_by),
        ("current tech", f"{old.org or old.name} ({old.handle})" if old else "-"),
        ("proposed tech", proposed),
        ("new tech contact", new.handle if new else "-"),
        ("consent", ", ".join(request.proposed.get("consent_fields") or []) or "-"),
        ("created", request.created_at.isoformat()),
        ("expires", request.expires_at.isoformat()),
        ("decided by", request.decided_by or "-"),
        ("reason", request.reason or "-"),
        ("sync error", request.sync_error or "-"),
    ]
    for name, value in rows:
        table.add_row(name, value)
    return table


@app.command("list")
def list_requests(
    state: str = typer.Option(None, "--state", help=f"One of: {', '.join(RequestState)}."),
    limit: int = typer.Option(50, "--limit"),
    database_url: str = DB_OPTION,
) -> None:
    """Requests, newest first."""
    with user_errors(), opened_store(database_url, create=False) as store:
        acting(store, Permission.VIEW)
        flow = Workflow(store)
        rows = flow.list(state=state, limit=limit)
        names = flow.domain_names(rows)
    table = Table()
    table.add_column("reference", no_wrap=True)
    table.add_column("domain", overflow="fold")
    for column in ("state", "channel", "entered by", "created"):
        table.add_column(column)
    for r in rows:
        table.add_row(
            r.reference,
            names[r.domain_id],
            r.state,
            r.channel,
            r.entered_by,
            r.created_at.strftime("%Y-%m-%d %H:%M"),
        )
    console.print(table if rows else "no requests")


@app.command("show")
def show_request(reference: str, database_url: str = DB_OPTION) -> None:
    """One request: current and proposed technical contact, state, decisions."""
    reference = checked(reference)
    with user_errors(), opened_store(database_url, create=False) as store:
        actor = acting(store, Permission.VIEW).actor
        table = _describe(Workflow(store), reference, actor)
    console.print(table)


@app.command("enter")
def enter_request(
    domain: str = typer.Argument(..., help="The domain (A-label or U-label)."),
    channel: str = typer.Option(
        ..., "--channel", help=f"How the customer asked: {', '.join(RequestChannel)}."
    ),
    contact_file: Path = typer.Option(
        None,
        "--contact",
        help="JSON file with the new tech contact (org, name, email, voice, city, country, ...).",
    ),
    house: bool = typer.Option(
        False, "--house", help="Move the technical contact back to Interlink."
    ),
    database_url: str = DB_OPTION,
) -> None:
    """Enter a request for a customer who phoned or wrote; the registrant must still confirm."""
    with user_errors(), opened_store(database_url) as store:
        actor = acting(store).actor
        if house == (contact_file is not None):
            raise typer.BadParameter("give either --contact FILE or --house")
        proposal = json.loads(contact_file.read_text(encoding="utf-8")) if contact_file else None
        flow = workflow(store)
        outcome = flow.submit(
            actor=actor,
            domain_name=domain,
            proposal=proposal,
            channel=channel,
            target="house" if house else "new",
        )
        deliver(flow, outcome)
    console.print(
        f"request {outcome.request.reference} entered; the registrant was asked to confirm"
    )


@app.command("approve")
def approve_request(reference: str, database_url: str = DB_OPTION) -> None:
    """Approve a confirmed request and apply it (not one you entered yourself)."""
    reference = checked(reference)
    with user_errors(), opened_store(database_url) as store:
        actor = acting(store).actor
        flow = workflow(store)
        flow.approve(actor=actor, reference=reference)
        outcome = flow.apply(actor=actor, reference=reference)
        deliver(flow, outcome)
    console.print(f"request {reference} approved and applied; the registry sync will follow")


@app.command("apply")
def apply_request(reference: str, database_url: str = DB_OPTION) -> None:
    """Apply an approved request whose first apply failed (e.g. a lock since lifted)."""
    reference = checked(reference)
    with user_errors(), opened_store(database_url) as store:
        actor = acting(store).actor
        flow = workflow(store)
        outcome = flow.apply(actor=actor, reference=reference)
        deliver(flow, outcome)
    console.print(f"request {reference} applied")


@app.command("reject")
def reject_request(
    reference: str,
    reason: str = typer.Option(..., "--reason", help="Why; the customer reads it."),
    database_url: str = DB_OPTION,
) -> None:
    """Reject a confirmed request with a reason."""
    reference = checked(reference)
    with user_errors(), opened_store(database_url) as store:
        actor = acting(store).actor
        flow = workflow(store)
        outcome = flow.reject(actor=actor, reference=reference, reason=reason)
        deliver(flow, outcome)
    console.print(f"request {reference} rejected")


@app.command("cancel")
def cancel_request(
    reference: str,
    reason: str = typer.Option(None, "--reason"),
    database_url: str = DB_OPTION,
) -> None:
    """Cancel a request that has not been decided yet."""
    reference = checked(reference)
    with user_errors(), opened_store(database_url) as store:
        actor = acting(store).actor
        flow = workflow(store)
        outcome = flow.cancel(actor=actor, reference=reference, reason=reason)
        deliver(flow, outcome)
    console.print(f"request {reference} cancelled")


@app.command("resend")
def resend_confirmation(reference: str, database_url: str = DB_OPTION) -> None:
    """Send the registrant a new confirmation link (the old one stops working)."""
    reference = checked(reference)
    with user_errors(), opened_store(database_url) as store:
        actor = acting(store).actor
        flow = workflow(store)
        outcome = flow.resend_confirmation(actor=actor, reference=reference)
        deliver(flow, outcome)
    console.print(f"a new confirmation link for {reference} was sent to the registrant")


@app.command("expire")
def expire_requests(database_url: str = DB_OPTION) -> None:
    """Expire unconfirmed requests older than the confirmation window."""
    with user_errors(), opened_store(database_url) as store:
        acting(store)  # any active member of staff; the expiry itself is the system's
        flow = workflow(store)
        outcomes = flow.expire_stale()
        for outcome in outcomes:
            deliver(flow, outcome)
    console.print(f"{len(outcomes)} request(s) expired")
