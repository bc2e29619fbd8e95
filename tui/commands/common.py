"""What every command shares: opening the store, who is acting, clean error exits."""

from __future__ import annotations

import logging
import shlex
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

from domains.errors import InterlinkError
from domains.identity import identify
from domains.settings import Settings, get_settings
from domains.staff import Permission, Refused, StaffView
from domains.store import Store

console = Console()
err_console = Console(stderr=True, soft_wrap=True)  # one error, one line: never folded


def acting(store: Store, permission: Permission | None = None) -> StaffView:
    """The member of staff running this command, from the system (never a typed name): an
    unknown or disabled identity is UnknownStaff, one without `permission` is Refused."""
    member = identify(store)
    if permission is not None and not member.may(permission):
        raise Refused(member.login, permission)
    return member


class NoStore(InterlinkError):
    """A command that only reads was pointed at a SQLite file that does not exist."""

    def __init__(self, path: Path, database_url: str | None) -> None:
        self.path = path
        db = f" --db {shlex.quote(database_url)}" if database_url else ""
        super().__init__(
            f"no store at {path}; make one with `interlink db upgrade{db}` (empty) or "
            f"`interlink import FILE{db}`; for a running demo, run the "
            "`export INTERLINK_CONFIG=...` line its banner prints"
        )


def missing_sqlite_file(url: str) -> Path | None:
    """The absolute path of the SQLite file `url` names, if that file does not exist."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None  # not a URL at all: the engine says so in its own words
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    path = Path(parsed.database).absolute()  # as SQLite reads it: no ~, relative to here
    return None if path.exists() else path


@contextmanager
def opened_store(database_url: str | None = None, *, create: bool = True) -> Iterator[Store]:
    """Open the store from settings (or the given URL) and close it afterwards.

    With create=False (commands that only read) a SQLite file that does not exist is NoStore,
    and nothing is created: no file, no folder.
    """
    settings = get_settings()
    if database_url:
        settings = Settings(**{**settings.model_dump(), "database_url": database_url})
    if not create:
        missing = missing_sqlite_file(settings.database_url)
        if missing is not None:
            raise NoStore(missing, database_url)
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
        err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
        raise typer.Exit(1) from None
    except OSError as exc:
        where = escape(f"{exc.strerror or exc}: {exc.filename or ''}")
        err_console.print(f"[bold red]error:[/] {where}")
        raise typer.Exit(1) from None
    except DBAPIError as exc:
        # The driver's own first line says what failed (host, port, file); never a password.
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        err_console.print(
            f"[bold red]error:[/] the database failed: {escape(reason)}", highlight=False
        )
        raise typer.Exit(1) from None
    except ArgumentError as exc:  # a database URL SQLAlchemy cannot read or has no dialect for
        err_console.print(
            f"[bold red]error:[/] the database URL (--db or INTERLINK_DATABASE_URL) is not one "
            f"Interlink can open: {escape(str(exc))}; e.g. sqlite:////path/to/interlink.db or "
            "postgresql+psycopg://user@host/dbname",
            highlight=False,
        )
        raise typer.Exit(1) from None


class TypesOnlyFormatter(logging.Formatter):
    """Log lines whose exceptions are named by type only, never with their text or traceback:
    a library's exception text can carry SQL and its values (addresses, names)."""

    def formatException(self, ei: Any) -> str:
        names: list[str] = []
        exc = ei[1]
        while exc is not None and len(names) < 5:
            names.append(type(exc).__name__)
            exc = exc.__cause__ or exc.__context__
        return "  (" + " <- ".join(names) + ")" if names else ""

    def formatStack(self, stack_info: str) -> str:
        return ""


#: What every log line looks like.
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(verbose: bool) -> None:
    """Plain logs on stderr, exceptions by type only; they never carry personal data.

    No library logger needs a filter or a level here, even at DEBUG (architecture §3, Logs):
    the engines hide bound values and rows (domains/db.py, make_engine), uvicorn's access log
    is off (serve), and the product sends no HTTP request of its own through httpx.
    """
    handler = logging.StreamHandler()
    handler.setFormatter(TypesOnlyFormatter(LOG_FORMAT))
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, handlers=[handler])
