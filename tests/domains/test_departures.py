"""Marking a domain gone to another registrar: once, audited, its rendered answer dropped."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlmodel import col

from domains.departures import ACTION, mark_gone
from domains.errors import NotFound
from domains.models import AuditEvent
from domains.store import Store
from tests.support.factories import make_domain

WHEN = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


def events(store: Store) -> int:
    with store.read() as session:
        return session.execute(
            select(func.count()).select_from(AuditEvent).where(col(AuditEvent.action) == ACTION)
        ).scalar_one()


def test_a_domain_is_marked_gone_once(store: Store) -> None:
    make_domain(store, "leaving.com")
    version = store.domain_record("leaving.com").domain.version
    first = mark_gone(store, "leaving.com", actor="system:sync", at=WHEN, gaining="newreg")
    assert first.marked and first.gone_at == WHEN
    after = store.domain_record("leaving.com").domain
    assert after.gone_at == WHEN and after.version == version + 1
    again = mark_gone(store, "leaving.com", actor="system:sync", gaining="newreg")
    assert not again.marked and again.gone_at == WHEN
    assert store.domain_record("leaving.com").domain.version == version + 1
    assert events(store) == 1


def test_an_unknown_domain_is_not_found(store: Store) -> None:
    with pytest.raises(NotFound):
        mark_gone(store, "absent.com", actor="system:sync", gaining="newreg")
    assert events(store) == 0
