"""`interlink sync --reconcile [--tld T]`: the registry drift check, and its differences printed."""

from __future__ import annotations

import asyncio

from rich.table import Table
from rich.text import Text

from domains.drift import DriftRunView
from domains.store import Store
from publishers.drift import REGISTRY_SECTION, reconcile
from publishers.registries import RegistryMap
from tui.commands.common import console

ACTOR = "system:drift-check"
ABSENT = Text("—", style="dim")
PERSONAL = Text("(personal: see `interlink registry show`)", style="dim")


def run_reconcile(store: Store, registries: RegistryMap, tld: str | None) -> DriftRunView:
    """Walk the domains, keep the run, print each difference; the run."""
    run = asyncio.run(reconcile(store, registries, actor=ACTOR, tld=tld))
    print_run(run)
    return run


def _cell(value: str | None, section: str) -> Text:
    if value is not None:
        return Text(value)
    if section not in ("domain", REGISTRY_SECTION):
        return PERSONAL
    return ABSENT


def print_run(run: DriftRunView) -> None:
    """The run's differences as a table (stored text is never markup), then one summary line."""
    if run.findings:
        table = Table(
            title="Differences between the registries and Interlink", title_justify="left"
        )
        table.add_column("domain", no_wrap=True)
        table.add_column("object", overflow="fold")
        table.add_column("field", overflow="fold")
        table.add_column("registry", overflow="fold")
        table.add_column("Interlink", overflow="fold")
        for finding in run.findings:
            table.add_row(
                Text(finding.domain),
                Text(finding.section),
                Text(finding.field),
                _cell(finding.registry, finding.section),
                _cell(finding.store, finding.section),
            )
        console.print(table)
    scope = f".{run.tld}" if run.tld else "every TLD"
    console.print(
        f"drift check ({scope}): {run.domains_checked} domains checked, "
        f"{run.domains_differing} differ ({run.differences} differences), "
        f"{run.errors} could not be compared",
        highlight=False,
    )
