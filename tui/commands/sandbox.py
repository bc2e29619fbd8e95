"""`interlink registry-sandbox`: the local EPP registry (TLS, its own SQLite, fault injection),
and `registry-sandbox transfer-out DOMAIN`, which moves a domain away as another registrar would."""

from __future__ import annotations

import os
import ssl
from pathlib import Path

import typer

from domains.settings import get_settings
from domains.vocabulary import RegistryContactPolicy
from publishers.sandbox import messages
from publishers.sandbox.faults import FaultPlan
from publishers.sandbox.process import run_sandbox
from publishers.sandbox.server import SandboxRegistry
from publishers.sandbox.store import open_db
from tui.commands.common import console, err_console

app = typer.Typer(
    help="The local EPP registry: runs until Ctrl-C; `transfer-out` moves a domain away.",
)

DEFAULT_CLIENT_ID = "interlink"
PASSWORD_VARIABLE = "INTERLINK_SANDBOX_PASSWORD"
DEFAULT_PASSWORD = "sandbox-pw1"


def _clients(values: list[str] | None) -> dict[str, str]:
    if not values:
        return {DEFAULT_CLIENT_ID: os.environ.get(PASSWORD_VARIABLE, DEFAULT_PASSWORD)}
    clients = {}
    for value in values:
        client_id, separator, password = value.partition(":")
        if not separator or not client_id or not 6 <= len(password) <= 16:
            raise typer.BadParameter(
                f"{value!r}: expected id:password with a password of 6 to 16 characters",
                param_hint="--client",
            )
        clients[client_id] = password
    return clients


@app.callback(invoke_without_command=True)
def registry_sandbox_command(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(7000, "--port", help="TCP port (0: any free port)."),
    db: Path = typer.Option(
        None,
        "--db",
        help="The sandbox's SQLite file (default: sandbox.db in the data directory; its own CA goes"
        " next to it in sandbox.db.tls/).",
    ),
    client: list[str] = typer.Option(
        None,
        "--client",
        help=f"A registrar account as id:password (repeatable); default {DEFAULT_CLIENT_ID} "
        f"with the password from ${PASSWORD_VARIABLE} or {DEFAULT_PASSWORD!r}.",
    ),
    error_share: float = typer.Option(
        0.0,
        "--error-share",
        min=0.0,
        max=1.0,
        help="Share of object commands answered with an error.",
    ),
    error_code: int = typer.Option(2400, "--error-code", help="The injected error's result code."),
    delay_ms: int = typer.Option(0, "--delay-ms", min=0, help="Delay before every object command."),
    drop_share: float = typer.Option(
        0.0,
        "--drop-share",
        min=0.0,
        max=1.0,
        help="Share of successful changes committed and then answered by dropping the connection.",
    ),
    prohibit_contacts: list[str] = typer.Option(
        None,
        "--prohibit-contacts",
        help="A TLD whose domains take no admin/billing/tech contacts (repeatable; * for all).",
    ),
    seed: int = typer.Option(None, "--seed", help="Seed for repeatable fault injection."),
    certfile: Path = typer.Option(None, "--cert", help="Server certificate (PEM chain)."),
    keyfile: Path = typer.Option(None, "--key", help="Server key (PEM), if not in --cert."),
    client_ca: Path = typer.Option(
        None,
        "--client-ca",
        exists=True,
        dir_okay=False,
        readable=True,
        help="Require a TLS client certificate signed by this CA (PEM); connections without "
        "one, or with another, are refused (mutual TLS, as many registries do).",
    ),
) -> None:
    """Run the local EPP registry until Ctrl-C (or SIGTERM)."""
    if ctx.invoked_subcommand is not None:
        ctx.obj = db
        return
    clients = _clients(client)
    try:
        faults = FaultPlan(
            error_share=error_share,
            error_code=error_code,
            delay_ms=delay_ms,
            drop_after_commit_share=drop_share,
            seed=seed,
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    database = db or get_settings().data_dir / "sandbox.db"
    policy = {tld: RegistryContactPolicy.PROHIBITED for tld in prohibit_contacts or ()}

    def ready(registry: SandboxRegistry) -> None:
        console.print(f"EPP sandbox listening on {registry.host}:{registry.port} (TLS)")
        if registry.ca_file:
            console.print(f"CA certificate: {registry.ca_file}")
        console.print(f"database: {registry.db_path}")
        if registry.client_ca is not None:
            console.print(f"client certificates: required, signed by {registry.client_ca}")
        console.print(f"clients: {', '.join(sorted(clients))}")
        if policy:
            console.print(f"contacts prohibited under: {', '.join(sorted(policy))}")
        if error_share or delay_ms or drop_share:
            console.print(
                f"faults: {error_share:.0%} answered {error_code}, {delay_ms} ms delay, "
                f"{drop_share:.0%} dropped after commit"
            )
        console.print("Stop with Ctrl-C.")

    try:
        run_sandbox(
            database,
            host=host,
            port=port,
            clients=clients,
            contacts_policy=policy,
            faults=faults,
            certfile=None if certfile is None else str(certfile),
            keyfile=None if keyfile is None else str(keyfile),
            client_ca=None if client_ca is None else str(client_ca),
            on_ready=ready,
        )
    except ssl.SSLError as exc:
        err_console.print(
            f"[bold red]error:[/] --client-ca {client_ca}: not a CA certificate: {exc}"
        )
        raise typer.Exit(1) from None
    except OSError as exc:
        err_console.print(f"[bold red]error:[/] {exc.strerror or exc}")
        raise typer.Exit(1) from None
    console.print("EPP sandbox stopped.")


@app.command("transfer-out")
def transfer_out_command(
    ctx: typer.Context,
    domain: str = typer.Argument(..., help="The domain to move away."),
    to: str = typer.Option(
        messages.DEFAULT_GAINING, "--to", help="The registrar that gains the domain."
    ),
    status: str = typer.Option(
        "serverApproved",
        "--status",
        help="How the transfer was approved: serverApproved (by the registry) or clientApproved"
        " (by the losing registrar).",
    ),
    db: Path = typer.Option(
        None, "--db", help="The sandbox's SQLite file (default: sandbox.db in the data directory)."
    ),
) -> None:
    """Move DOMAIN to another registrar in the sandbox's store (running or not), and queue the
    transfer notice (a poll message with the domain's trnData) for the registrar that lost it."""
    if status not in messages.APPROVED:
        raise typer.BadParameter(
            f"{status!r}: expected one of {', '.join(messages.APPROVED)}", param_hint="--status"
        )
    if not 3 <= len(to) <= 16:
        raise typer.BadParameter(f"{to!r}: a client id has 3 to 16 characters", param_hint="--to")
    database = db or ctx.obj or get_settings().data_dir / "sandbox.db"
    if not Path(database).exists():
        err_console.print(f"[bold red]error:[/] no sandbox database at {database}")
        raise typer.Exit(1)
    connection = open_db(Path(database))
    try:
        message = messages.transfer_out(connection, domain, to=to, status=status)
    except messages.TransferRefused as exc:
        err_console.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(1) from None
    finally:
        connection.close()
    transfer = message.transfer
    console.print(
        f"{transfer.name} moved to {transfer.re_id} ({transfer.status}); "
        f"poll message {message.id} queued for the registrar that lost it"
    )
