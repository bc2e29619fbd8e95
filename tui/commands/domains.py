"""`interlink domains lock|unlock|ns|ds|registrant`: staff change what the registry holds."""

from __future__ import annotations

import typer
from rich.markup import escape

from domains.dnssec import DsView, ds_records
from domains.domain_edits import DomainEdit
from domains.errors import FieldError, ValidationFailed
from domains.staff import Permission
from domains.store import Store
from domains.validation import REGISTRAR_LOCK
from tui.commands.common import acting, console, opened_store, user_errors

app = typer.Typer(
    help="A domain's registry data: its lock and client statuses, name servers, DS records "
    "and registrant. Each change is audited and queued for the registry.",
    no_args_is_help=True,
)

DB_OPTION = typer.Option(None, "--db", help="Database URL (default: settings).")
DOMAIN_ARGUMENT = typer.Argument(..., help="The domain, e.g. harbourside-bikes.com.")
VERSION_OPTION = typer.Option(
    None, "--version", help="The version you read (refused if it changed meanwhile)."
)
STATUS_OPTION = typer.Option(
    None,
    "--status",
    help="A client status instead of the registrar lock (repeat for more), e.g. clientHold.",
)


def _said(edit: DomainEdit, done: str) -> None:
    if not edit.changed:
        console.print(f"{edit.record.domain.name}: nothing changed", highlight=False)
        return
    console.print(
        f"{edit.record.domain.name}: {done}; the registry update is queued "
        f"(version {edit.record.domain.version})",
        highlight=False,
    )


def _statuses(edit: DomainEdit) -> str:
    return ", ".join(edit.record.domain.statuses)


@app.command("lock")
def lock_command(
    domain: str = DOMAIN_ARGUMENT,
    status: list[str] = STATUS_OPTION,
    version: int | None = VERSION_OPTION,
    database_url: str = DB_OPTION,
) -> None:
    """Set the registrar lock (client transfer, update and delete prohibited), or --status."""
    _client_statuses(database_url, domain, version, add=tuple(status or REGISTRAR_LOCK))


@app.command("unlock")
def unlock_command(
    domain: str = DOMAIN_ARGUMENT,
    status: list[str] = STATUS_OPTION,
    version: int | None = VERSION_OPTION,
    database_url: str = DB_OPTION,
) -> None:
    """Lift the registrar lock, or only the client statuses given with --status."""
    _client_statuses(database_url, domain, version, remove=tuple(status or REGISTRAR_LOCK))


def _client_statuses(
    database_url: str,
    domain: str,
    version: int | None,
    *,
    add: tuple[str, ...] = (),
    remove: tuple[str, ...] = (),
) -> None:
    """Set or lift client statuses as the member at this terminal, and say what they are now."""
    with user_errors(), opened_store(database_url, create=False) as store:
        actor = acting(store, Permission.EDIT_DOMAIN).actor
        edit = store.set_client_statuses(actor, domain, version, add=add, remove=remove)
    _said(edit, f"statuses now {_statuses(edit)}")


def _glue(values: list[str]) -> dict[str, list[str]]:
    """`HOST=ADDRESS[,ADDRESS...]` options as {host: [address, ...]}."""
    glue: dict[str, list[str]] = {}
    for value in values:
        host, sep, addresses = value.partition("=")
        if not sep or not host.strip():
            raise ValidationFailed(
                FieldError("glue", f"{value!r} is not HOST=ADDRESS, e.g. ns1.example.com=192.0.2.1")
            )
        glue.setdefault(host.strip(), []).extend(addresses.replace(",", " ").split())
    return glue


@app.command("ns")
def ns_command(
    domain: str = DOMAIN_ARGUMENT,
    hosts: list[str] = typer.Argument(
        None, help="The name servers, all of them (none: the domain gets no delegation)."
    ),
    glue: list[str] = typer.Option(
        None,
        "--glue",
        help="HOST=ADDRESS[,ADDRESS]: the addresses of a new name server under the domain.",
    ),
    version: int | None = VERSION_OPTION,
    database_url: str = DB_OPTION,
) -> None:
    """Give the domain these name servers (replacing the ones it has)."""
    with user_errors(), opened_store(database_url, create=False) as store:
        actor = acting(store, Permission.EDIT_DOMAIN).actor
        edit = store.set_nameservers(actor, domain, version, hosts or [], _glue(glue or []))
    _said(edit, f"name servers now {', '.join(edit.record.domain.nameservers) or 'none'}")


@app.command("ds")
def ds_command(
    domain: str = DOMAIN_ARGUMENT,
    add: list[str] = typer.Option(
        None, "--add", help='A DS record to add, as "KEYTAG ALGORITHM DIGESTTYPE DIGEST".'
    ),
    remove: list[str] = typer.Option(None, "--remove", help="A DS record to remove."),
    clear: bool = typer.Option(
        False, "--clear", help="Remove every DS record on file (with --add: replace them)."
    ),
    version: int | None = VERSION_OPTION,
    database_url: str = DB_OPTION,
) -> None:
    """Add or remove DS records (signed while it has any); without options, list them."""
    adding, removing = list(add or []), list(remove or [])
    with user_errors(), opened_store(database_url, create=False) as store:
        if not adding and not removing and not clear:
            _list_ds(store, domain)
            return
        actor = acting(store, Permission.EDIT_DOMAIN).actor
        if clear or (adding and removing):
            # One edit (one registry update): the records wanted, at the version read.
            record = store.domain_record(domain)
            expected = record.domain.version if version is None else version
            kept: list[object] = list(adding)
            if not clear:
                dropping = _on_file(record.ds, removing)
                kept += [r for r in record.ds if r not in dropping]
            edit = store.set_ds(actor, domain, expected, kept)
        elif adding:
            edit = store.add_ds(actor, domain, version, adding)
        else:
            edit = store.remove_ds(actor, domain, version, removing)
    signed = "signed" if edit.record.domain.dnssec else "unsigned"
    _said(edit, f"{len(edit.record.ds)} DS record(s) on file, {signed}")


def _on_file(held: tuple[DsView, ...], removing: list[str]) -> tuple[DsView, ...]:
    """The records to remove, each checked and on file (else the field and why)."""
    dropping = ds_records(removing, "remove")
    unknown = [
        FieldError(f"remove[{i}]", f"{r.text} is not on file for this domain")
        for i, r in enumerate(dropping)
        if r not in held
    ]
    if unknown:
        raise ValidationFailed(unknown)
    return dropping


def _list_ds(store: Store, domain: str) -> None:
    record = store.domain_record(domain)
    name = record.domain.name
    if not record.ds:
        state = "signed, DS data not on file" if record.domain.dnssec else "unsigned"
        console.print(f"{name}: no DS records ({state})", highlight=False)
        return
    console.print(f"{name}: signed, {len(record.ds)} DS record(s)", highlight=False)
    for ds in record.ds:
        console.print(
            f"  {escape(ds.text)}  ({ds.algorithm_name}, {ds.digest_name})", highlight=False
        )


@app.command("registrant")
def registrant_command(
    domain: str = DOMAIN_ARGUMENT,
    handle: str = typer.Argument(..., help="The new registrant: a contact of the account."),
    version: int | None = VERSION_OPTION,
    database_url: str = DB_OPTION,
) -> None:
    """Make another contact of the domain's account its registrant."""
    with user_errors(), opened_store(database_url, create=False) as store:
        actor = acting(store, Permission.CHANGE_REGISTRANT).actor
        edit = store.change_registrant(actor, domain, version, handle)
    registrant = edit.record.contact("registrant")
    _said(edit, f"registrant now {registrant.handle if registrant else '-'}")
