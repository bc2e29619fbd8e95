"""What every command shares: opening the store, the actor's name, clean error exits."""

from __future__ import annotations

import getpass
import logging
from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console
from sqlalchemy.exc import DBAPIError

from domains.errors import InterlinkError
from domains.settings import Settings, get_settings
from domains.store import Store

console = Console()
err_console = Console(stderr=True)


def staff_actor(name: str | None = None) -> str:
    """The audit actor for the person at the keyboard: staff:NAME (option or login name)."""
    return f"staff:{name or getpass.getuser()}"


@contextmanager
def opened_store(database_url: str | None = None) -> Iterator[Store]:
    """Open the store from settings (or the given URL) and close it afterwards."""
    settings = get_settings()
    if database_url:
        settings = Settings(**{**settings.model_dump(), "database_url": database_url})
    store = Store.open(settings=settings)
    try:
        yield store
    finally:
        store.close()


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn the errors a person can fix into one clear line and exit code 1, never a traceback."""
    try:
        yield
    except InterlinkError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, markup=True)
        raise typer.Exit(1) from None
    except OSError as exc:
        err_console.print(f"[bold red]error:[/] {exc.strerror or exc}: {exc.filename or ''}")
        raise typer.Exit(1) from None
    except DBAPIError as exc:
        # The driver's own first line says what failed (host, port, file); never a password.
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        err_console.print(f"[bold red]error:[/] the database failed: {reason}", highlight=False)
        raise typer.Exit(1) from None


def configure_logging(verbose: bool) -> None:
    """Plain logs on stderr; they never carry personal data."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
