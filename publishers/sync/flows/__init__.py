"""The outbox kinds the sync worker knows: one module per kind, each with `prepare` and `run`
(the `publishers.sync.jobs.Flow` protocol), listed once in FLOWS.

A new kind is one new module here and one line in FLOWS. Entries of a kind not listed stay in
the outbox untouched (the worker never claims them).
"""

from __future__ import annotations

from collections.abc import Mapping

from domains.vocabulary import OutboxKind
from publishers.sync.flows import contact_update, domain_update, tech_move
from publishers.sync.jobs import Flow

FLOWS: Mapping[OutboxKind, Flow] = {
    OutboxKind.DOMAIN_TECH_MOVE: tech_move,
    OutboxKind.CONTACT_UPDATE: contact_update,
    OutboxKind.DOMAIN_UPDATE: domain_update,
}

KINDS: tuple[str, ...] = tuple(kind.value for kind in FLOWS)
"""The kinds the worker claims."""


def flow_of(kind: str) -> Flow:
    """The flow of an outbox kind (KeyError for a kind not in FLOWS)."""
    return FLOWS[OutboxKind(kind)]


__all__ = ["FLOWS", "KINDS", "flow_of"]
