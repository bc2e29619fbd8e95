"""`apply_grants` runs again when another run on the cluster updated the same catalog row at
once (PostgreSQL's "tuple concurrently updated", its transaction rolled back), and only then."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import create_engine
from sqlalchemy.exc import DBAPIError, InternalError

from domains import grants


class CatalogRace(Exception):
    """What psycopg raises: the message PostgreSQL gives."""


def failing(times: int, message: str) -> Any:
    calls: list[int] = []

    def apply_all(engine: Any, members: Any) -> grants.GrantsReport:
        calls.append(1)
        if len(calls) <= times:
            raise InternalError("GRANT ...", None, CatalogRace(message))
        return grants.GrantsReport()

    apply_all.calls = calls  # type: ignore[attr-defined]
    return apply_all


@pytest.fixture
def engine() -> Any:
    # A PostgreSQL engine that never connects: `_apply_all`, which would, is replaced.
    return create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")


def test_a_concurrent_catalog_update_is_run_again(engine: Any, monkeypatch) -> None:
    apply_all = failing(2, "tuple concurrently updated")
    monkeypatch.setattr(grants, "_apply_all", apply_all)
    assert isinstance(grants.apply_grants(engine, []), grants.GrantsReport)
    assert len(apply_all.calls) == 3


def test_other_errors_and_a_lasting_race_are_raised(engine: Any, monkeypatch) -> None:
    other = failing(1, "permission denied for table contact")
    monkeypatch.setattr(grants, "_apply_all", other)
    with pytest.raises(DBAPIError, match="permission denied"):
        grants.apply_grants(engine, [])
    assert len(other.calls) == 1
    lasting = failing(99, "tuple concurrently updated")
    monkeypatch.setattr(grants, "_apply_all", lasting)
    with pytest.raises(DBAPIError, match="concurrently"):
        grants.apply_grants(engine, [])
    assert len(lasting.calls) == grants.CATALOG_ATTEMPTS
