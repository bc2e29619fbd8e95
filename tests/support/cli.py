"""The `interlink` command as the tests run it: the real group, stdout and stderr apart."""

from __future__ import annotations

from click.testing import Result
from sqlalchemy import func, select
from typer.testing import CliRunner

from domains.models import AccessEvent
from domains.store_sessions import StoreSessions
from tui.cli import app
from tui.commands.common import console, err_console


def url_of(store: StoreSessions) -> str:
    """The store's database URL as `--db` takes it (password kept, for PostgreSQL)."""
    return store.engine.url.render_as_string(hide_password=False)


#: Wide enough that tables keep their rows on one line.
WIDTH = 200


def follow_the_terminal() -> None:
    """Let the commands' shared consoles take their width from COLUMNS at each print again.

    Rich fixes a console's width when it is made under a COLUMNS variable, so whichever test
    first imported the commands inside a CliRunner would set it for every later test in that
    process; the tests' conftest calls this before each test.
    """
    for shared in (console, err_console):
        shared.width = None  # type: ignore[assignment]  # None: measured at each print


def interlink(*args: str) -> Result:
    """`interlink ARGS...`, 200 columns wide so that tables keep their rows on one line."""
    return CliRunner().invoke(app, list(args), env={"COLUMNS": str(WIDTH)})


def on(store: StoreSessions, *args: str) -> Result:
    """`interlink ARGS... --db URL` on the test's store."""
    return interlink(*args, "--db", url_of(store))


def one_error(result: Result) -> str:
    """The one line a refused command writes (on stderr, exit code 1, nothing on stdout)."""
    assert result.exit_code == 1, result.output
    assert result.stdout == "", result.stdout
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def access_event_count(store: StoreSessions) -> int:
    """How many access events the store holds."""
    with store.read() as session:
        return session.execute(select(func.count()).select_from(AccessEvent)).scalar_one()
