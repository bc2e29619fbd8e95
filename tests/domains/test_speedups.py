"""Each speed-up of domains/speedups.py changes no result: the same values and the same errors
with and without it, over tricky inputs."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domains import speedups, validation
from domains.errors import ValidationFailed
from domains.models import Account, Contact, Domain
from domains.store import Store
from tests.support.factories import make_domain
from tests.support.samples import ADDRESSES, NAMES


@pytest.fixture
def plain() -> Iterator[None]:
    """Speed-ups off for the test (and back as they were after it)."""
    was = speedups.installed()
    speedups.uninstall()
    yield
    speedups.uninstall()
    if was:
        speedups.install()


def outcome(check: Callable[[], Any]) -> str:
    try:
        return repr(check())
    except ValidationFailed as exc:
        return f"{exc.errors[0].field}: {exc.errors[0].message}"


def both_ways(check: Callable[[], Any]) -> str:
    """The outcome of `check` without the speed-ups, then twice with them (the second time from
    what the first remembered): all three must be the same."""
    speedups.uninstall()
    without = outcome(check)
    speedups.install()
    assert outcome(check) == without
    assert outcome(check) == without
    speedups.uninstall()
    return without


def email(address: str) -> Callable[[], Any]:
    return lambda: validation._email.__wrapped__(address, "email")


def names(name: str) -> Callable[[], Any]:
    return lambda: (outcome(lambda: validation.domain_name(name)), validation.host_name(name))


def test_install_is_idempotent_and_uninstall_restores_the_libraries(plain) -> None:
    flow = importlib.import_module("email_validator.validate_email")
    core = importlib.import_module("idna.core")
    originals = (flow.validate_email_domain_name, core.check_label)
    speedups.install()
    patched = (flow.validate_email_domain_name, core.check_label)
    assert patched[0] is not originals[0] and patched[1] is not originals[1]
    speedups.install()
    assert (flow.validate_email_domain_name, core.check_label) == patched
    assert speedups.installed()
    speedups.uninstall()
    assert (flow.validate_email_domain_name, core.check_label) == originals
    assert not speedups.installed()


@pytest.mark.parametrize("address", ADDRESSES)
def test_email_domains_remembered_give_what_the_library_gives(plain, address: str) -> None:
    both_ways(email(address))


def test_a_remembered_email_domain_is_a_copy_for_each_caller(plain) -> None:
    flow = importlib.import_module("email_validator.validate_email")
    speedups.install()
    remembered = flow.validate_email_domain_name
    assert remembered("example.com") == {"ascii_domain": "example.com", "domain": "example.com"}
    remembered("example.com")["domain"] = "changed"  # each caller has its own copy
    assert remembered("example.com")["domain"] == "example.com"


@pytest.mark.parametrize("name", NAMES)
def test_idna_label_checks_remembered_give_what_the_library_gives(plain, name: str) -> None:
    both_ways(names(name))


def test_a_bytearray_label_is_checked_not_remembered(plain) -> None:
    core = importlib.import_module("idna.core")
    speedups.install()
    assert core.check_label(bytearray(b"example")) is None


LABEL = st.text(alphabet="aZ09-_.ßüå\u200dЖжश\u0301xn", min_size=1, max_size=12)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(local=LABEL, domain=st.lists(LABEL, min_size=1, max_size=3))
def test_random_addresses_and_names_give_the_same_either_way(
    plain, local: str, domain: list[str]
) -> None:
    name = ".".join(domain)
    both_ways(email(f"{local}@{name}"))
    both_ways(names(name))


def columns(instance: Any, model: type[Any]) -> dict[str, Any]:
    return {column.name: getattr(instance, column.name) for column in model.__table__.c}


def test_loaded_instances_read_as_constructed_ones(plain, sqlite_store: Store) -> None:
    domain, _ = make_domain(sqlite_store, "Bücher-Loaded.de")
    record = sqlite_store.domain_record(domain.name)
    for model, stored in (
        (Domain, record.domain),
        (Contact, record.contact("registrant")),
        (Contact, record.contact("tech")),
        (Account, record.account),
    ):
        values = columns(stored, model)
        constructed = speedups.loaded(model, values)
        speedups.install()
        forged = speedups.loaded(model, values)
        speedups.uninstall()
        assert type(forged) is type(constructed) is model
        assert columns(forged, model) == columns(constructed, model) == values


def test_settling_the_heap_freezes_what_is_loaded_and_collects_young_objects_less_often():
    import gc

    before = gc.get_threshold()
    try:
        speedups.settle_heap()
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == (speedups.YOUNG_GC_THRESHOLD, *before[1:])
        later: list[object] = []
        later.append(later)  # a cycle made after settling is still found and collected
        del later
        assert gc.collect() >= 1
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
