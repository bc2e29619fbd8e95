"""Edit a domain's name servers, with the addresses (glue) of new ones under the domain itself."""

from __future__ import annotations

from collections.abc import Callable

from textual.app import ComposeResult
from textual.widgets import Static, TextArea

from domains.domain_edits import DomainEdit
from domains.store import Store
from tui.dialogs.domain_edit import DomainEditDialog


def parse_lines(text: str) -> tuple[list[str], dict[str, list[str]]]:
    """One host a line, optionally followed by its addresses: (hosts, {host: addresses})."""
    hosts: list[str] = []
    glue: dict[str, list[str]] = {}
    for line in text.splitlines():
        words = line.replace(",", " ").split()
        if not words:
            continue
        hosts.append(words[0])
        if words[1:]:
            glue.setdefault(words[0], []).extend(words[1:])
    return hosts, glue


class NameServersDialog(DomainEditDialog):
    """Every name server of the domain, one a line; saving replaces them all."""

    TITLE = "Name servers of"

    def body(self) -> ComposeResult:
        domain = self.record.domain.name
        yield Static(
            "One host a line. A new host under the domain itself needs its addresses after "
            f"it, e.g. ns1.{domain} 192.0.2.1 2001:db8::53",
            id="help",
        )
        yield TextArea(
            "\n".join(self.record.domain.nameservers), id="f-nameservers", soft_wrap=False
        )

    def on_mount(self) -> None:
        self.query_one("#f-nameservers", TextArea).focus()

    def edit(self, store: Store, actor: str) -> Callable[[], DomainEdit]:
        hosts, glue = parse_lines(self.query_one("#f-nameservers", TextArea).text)
        domain = self.record.domain
        return lambda: store.set_nameservers(actor, domain.name, domain.version, hosts, glue)
