"""The `interlink` command: the one composition root that wires every part together."""

from __future__ import annotations

import typer

from tui.commands import (
    database,
    demo,
    requests,
    sandbox,
    serve,
    show,
    staff_ui,
    sync,
    transfer,
)
from tui.commands.common import configure_logging

app = typer.Typer(
    name="interlink",
    help="Interlink's domain contact manager: records, changes, public data, registry sync.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(database.app, name="db")
app.add_typer(requests.app, name="requests")
app.command("import")(transfer.import_command)
app.command("export")(transfer.export_command)
app.command("demo")(demo.demo_command)
app.command("show")(show.show_command)
app.command("tui")(staff_ui.tui_command)
app.command("registry-sandbox")(sandbox.registry_sandbox_command)
app.command("serve")(serve.serve_command)
app.command("sync")(sync.sync_command)


@app.callback()
def _root(verbose: bool = typer.Option(False, "--verbose", "-v", help="Log progress.")) -> None:
    configure_logging(verbose)


def main() -> None:
    """Entry point of the console script."""
    app()


if __name__ == "__main__":
    main()
