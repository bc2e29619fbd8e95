"""The live NS look-up, as lines for the staff screens: what the DNS says is anyone's text."""

from __future__ import annotations

from rich.markup import escape

from domains.dns_check import NsResult, compare_delegation


def live_hosts(result: NsResult) -> str:
    """Markup: the live NS hosts, or why there are none (in red)."""
    if result.ok:
        return escape(", ".join(result.hosts))
    return f"[red]{escape(str(result.error))}[/]"


def delegation(stored: list[str], result: NsResult) -> str:
    """Markup: whether the DNS still points where the stored record says."""
    return escape(compare_delegation(stored, result))
