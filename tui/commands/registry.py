"""`interlink registry show DOMAIN`: what the registry holds beside what the store would send."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import typer
from rich.table import Table
from rich.text import Text

from domains.staff import Permission
from domains.vocabulary import AccessPurpose
from publishers.registries import load_registries
from publishers.registry_compare import Comparison, Section
from publishers.registry_view import compare_with_registry
from tui.commands.common import acting, console, opened_store, user_errors

app = typer.Typer(help="What the registries hold, compared with the store.", no_args_is_help=True)

ABSENT = Text("—", style="dim")
MARK = Text("≠", style="bold red")


def _value(value: str | None, differs: bool) -> Text:
    if value is None:
        return ABSENT
    return Text(value, style="yellow" if differs else "")


def section_table(section: Section) -> Table:
    """One object's rows: field | registry | ≠ | Interlink; stored text is never markup."""
    table = Table(title=Text(section.title), title_justify="left", caption=section.note)
    table.add_column("field", no_wrap=True)
    table.add_column("registry", overflow="fold")
    table.add_column("", width=1, no_wrap=True)
    table.add_column("Interlink", overflow="fold")
    for row in section.rows:
        table.add_row(
            row.field,
            _value(row.registry, row.differs),
            MARK if row.differs else "",
            _value(row.store, row.differs),
        )
    return table


def closing_line(comparison: Comparison) -> str:
    """ "registry and store agree", or how many fields differ."""
    count = comparison.differences
    if not count:
        return "registry and store agree"
    return f"{count} difference{'s' if count != 1 else ''}"


def render(comparison: Comparison) -> None:
    """Print the comparison as tables, one per registry object, and the closing line."""
    name = comparison.domain
    if comparison.unicode_name != name:
        name = f"{comparison.unicode_name} ({name})"
    console.print(
        Text(f"{name} at registry {comparison.registry} ({comparison.address})", style="bold")
    )
    for section in comparison.sections:
        console.print(section_table(section))
    style = "bold red" if comparison.differences else "bold green"
    console.print(Text(closing_line(comparison), style=style))


@app.command("show")
def show_command(
    domain: str = typer.Argument(..., help="The domain, as A-label or U-label, in any case."),
    registries_file: Path = typer.Option(
        None,
        "--registries",
        help="Registries TOML file (default: settings, else the packaged sandbox config).",
    ),
    database_url: str = typer.Option(None, "--db", help="Database URL (default: settings)."),
    as_json: bool = typer.Option(False, "--json", help="Print the comparison as JSON."),
) -> None:
    """Ask the domain's registry what it holds (domain:info, contact:info) and mark every field
    that differs from what Interlink would send."""
    with user_errors(), opened_store(database_url, create=False) as store:
        # Both sides hold private fields: staff only, and the look is recorded before it is shown.
        actor = acting(store, Permission.VIEW).actor
        path = registries_file or store.settings.registries_file
        registries = load_registries(path, data_dir=store.settings.data_dir)
        comparison = asyncio.run(compare_with_registry(store, registries, domain))
        store.look_at_domain(actor, domain, AccessPurpose.REGISTRY_COMPARISON)
    if as_json:
        typer.echo(json.dumps(comparison.as_dict(), indent=2, ensure_ascii=False))
    else:
        render(comparison)
