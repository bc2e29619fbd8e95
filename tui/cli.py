"""The `interlink` command: the one composition root that wires every part together.

Sub-commands are imported only when they run (LazyGroup): `interlink demo` must not pay for
FastAPI, uvicorn and lxml before its first screen is up.
"""

from __future__ import annotations

import importlib
from typing import Any

import typer
from typer.core import TyperGroup

from domains import speedups
from tui.commands.common import configure_logging

#: name -> (module, attribute, "command" for a function or "group" for a Typer app), in the
#: order `interlink --help` lists them.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "demo": ("tui.commands.demo", "demo_command", "command"),
    "tui": ("tui.commands.staff_ui", "tui_command", "command"),
    "serve": ("tui.commands.serve", "serve_command", "command"),
    "publish": ("tui.commands.publish", "publish_command", "command"),
    "sync": ("tui.commands.sync", "sync_command", "command"),
    "requests": ("tui.commands.requests", "app", "group"),
    "notices": ("tui.commands.notices", "notices_command", "command"),
    "announce": ("tui.commands.announce", "announce_command", "command"),
    "mail": ("tui.commands.mail", "app", "group"),
    "remind": ("tui.commands.remind", "remind_command", "command"),
    "disclosures": ("tui.commands.disclosures", "app", "group"),
    "show": ("tui.commands.show", "show_command", "command"),
    "domains": ("tui.commands.domains", "app", "group"),
    "import": ("tui.commands.exchange", "import_command", "command"),
    "export": ("tui.commands.exchange", "export_command", "command"),
    "registry-sandbox": ("tui.commands.sandbox", "registry_sandbox_command", "command"),
    "registry": ("tui.commands.registry", "app", "group"),
    "db": ("tui.commands.database", "app", "group"),
    "staff": ("tui.commands.staff", "app", "group"),
    "audit": ("tui.commands.audit", "app", "group"),
    "accounts": ("tui.commands.accounts", "app", "group"),
}


class LazyGroup(TyperGroup):
    """A command group that imports each sub-command's module when it is asked for."""

    # Typer carries its own copy of click: the context and command types are the ones its base
    # class declares, whichever click that is, so they are left open here.
    def list_commands(self, ctx: Any) -> list[str]:
        """Every command, in COMMANDS order."""
        return list(COMMANDS)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        """Import and build the named command."""
        if cmd_name not in COMMANDS:
            return None
        module, attribute, kind = COMMANDS[cmd_name]
        target = getattr(importlib.import_module(module), attribute)
        if kind == "group":
            group = typer.main.get_group(target)
            group.name = cmd_name
            return group
        single = typer.Typer()
        single.command(cmd_name)(target)
        command = typer.main.get_command(single)
        command.name = cmd_name
        return command


app = typer.Typer(
    name="interlink",
    cls=LazyGroup,
    help="Interlink's domain contact manager: records, changes, public data, registry sync.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root(verbose: bool = typer.Option(False, "--verbose", "-v", help="Log progress.")) -> None:
    configure_logging(verbose)


def main() -> None:
    """Entry point of the console script."""
    speedups.install()
    app()


if __name__ == "__main__":
    main()
