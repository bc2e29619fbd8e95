"""Resolving references: duplicates, references between records and into the store.

A key (number, handle, name) that appears twice in the file is ambiguous: every record holding it
is refused. A record that refers to a refused one is refused too. The house contact of the file (a
contact with `"house": true`) maps to the store's own house contact; it is never duplicated.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, func, select

from domains.exchange.checking import Checked
from domains.exchange.format import ACCOUNT_TABLE, CONTACT_TABLE, DOMAIN_TABLE, ImportFileError
from domains.store_sessions import IS_HOUSE

if TYPE_CHECKING:
    from domains.store import Store


def _existing(conn: Connection, column: Any, values: set[str]) -> set[str]:
    """Which of `values` the store already holds in `column`."""
    if not values:
        return set()
    total = conn.execute(select(func.count()).select_from(column.table)).scalar_one()
    if total <= 4 * len(values) or total <= 100_000:
        found = set(conn.execute(select(column)).scalars())
        return found & values
    out: set[str] = set()
    ordered = sorted(values)
    for i in range(0, len(ordered), 500):
        out.update(conn.execute(select(column).where(column.in_(ordered[i : i + 500]))).scalars())
    return out


def _lookup(conn: Connection, key: Any, value: Any, wanted: set[str]) -> dict[str, int]:
    """{key: id} of the store rows whose key is in `wanted`."""
    out: dict[str, int] = {}
    ordered = sorted(wanted)
    for i in range(0, len(ordered), 500):
        out.update(
            (k, v) for k, v in conn.execute(select(key, value).where(key.in_(ordered[i : i + 500])))
        )
    return out


@dataclass
class Links:
    """References that point into the store rather than into the file."""

    house_id: int
    house_handle: str
    accounts: dict[str, int] = field(default_factory=dict)  # number -> id
    contacts: dict[str, int] = field(default_factory=dict)  # handle -> id


def _unique(
    checked: Checked, section: str, field_name: str, key_of: Callable[[Any], str | None]
) -> tuple[dict[str, int], dict[str, int]]:
    """({key: index} of the records whose key is unique in the file, {key: index} of the rest).

    A key that appears more than once is ambiguous (which record did the file mean?), so every
    record that holds it is refused, and so is whatever refers to it.
    """
    records = checked.records(section)
    unique: dict[str, int] = {}
    repeated: dict[str, list[int]] = {}
    for i, record in enumerate(records):
        if record is None:
            continue
        key = key_of(record)
        if key is None:
            continue
        if key in unique:
            repeated.setdefault(key, [unique[key]]).append(i)
        else:
            unique[key] = i
    rejected: dict[str, int] = {}
    for key, where in repeated.items():
        del unique[key]
        rejected[key] = where[0]
        listed = ", ".join(f"{section}[{i}]" for i in where[:5])
        more = f" and {len(where) - 5} more" if len(where) > 5 else ""
        for i in where:
            checked.reject(
                section,
                i,
                f"{field_name}: {key} appears {len(where)} times in the file ({listed}{more})",
            )
    return unique, rejected


def _rejected_keys(
    checked: Checked, section: str, normalise: Callable[[str], str]
) -> dict[str, int]:
    """{key: index} of the records refused by their own checks (keys as the file gave them)."""
    out: dict[str, int] = {}
    for (where, index), label in checked.labels.items():
        if where == section and label and isinstance(label, str):
            out.setdefault(normalise(label), index)
    return out


def resolve(store: Store, checked: Checked) -> Links:
    """Duplicates, references between records, and records that depend on rejected ones."""
    acc, con, dom = ACCOUNT_TABLE.c, CONTACT_TABLE.c, DOMAIN_TABLE.c
    rejected_numbers = _rejected_keys(checked, "accounts", lambda n: n.strip().upper())
    rejected_handles = _rejected_keys(checked, "contacts", str.strip)

    numbers, twice = _unique(checked, "accounts", "number", lambda r: r.number)
    rejected_numbers.update(twice)
    houses, _ = _unique(checked, "contacts", "house", lambda r: "true" if r.house else None)
    house_index = houses.get("true")
    checked.meta["house_index"] = house_index
    handles, twice = _unique(checked, "contacts", "handle", lambda r: r.handle)
    rejected_handles.update(twice)
    names, _ = _unique(checked, "domains", "name", lambda r: r.name)

    with store.engine.connect() as conn:
        house = conn.execute(select(con.id, con.handle).where(IS_HOUSE)).first()
        if house is None:
            raise ImportFileError("this store has no house contact; open it with Store.open()")
        links = Links(house_id=house.id, house_handle=house.handle)

        for number in _existing(conn, acc.number, set(numbers)):
            index = numbers.pop(number)
            checked.reject("accounts", index, f"number: {number} already exists in the store")
            rejected_numbers[number] = index
        own = {h for h, i in handles.items() if i != house_index}
        for handle in _existing(conn, con.handle, own):
            index = handles.pop(handle)
            checked.reject("contacts", index, f"handle: {handle} already exists in the store")
            rejected_handles[handle] = index
        for name in _existing(conn, dom.name, set(names)):
            checked.reject("domains", names.pop(name), f"name: {name} already exists in the store")

        wanted_numbers = {
            r.account
            for r in (*checked.contacts, *checked.domains)
            if r is not None and r.account is not None and r.account not in numbers
        }
        wanted_handles = {
            h
            for r in checked.domains
            if r is not None
            for h in r.roles.values()
            if h not in handles and h not in rejected_handles
        }
        links.accounts = _lookup(conn, acc.number, acc.id, wanted_numbers)
        links.contacts = _lookup(conn, con.handle, con.id, wanted_handles)

    def account_problem(number: str) -> str | None:
        if number in numbers or number in links.accounts:
            return None
        if number in rejected_numbers:
            return (
                f"account: account {number!r} was rejected (accounts[{rejected_numbers[number]}])"
            )
        return f"account: no account {number!r}"

    # contacts -> accounts (the house contact belongs to no account of the file)
    for i, contact in enumerate(checked.contacts):
        if contact is None or contact.account is None or i == house_index:
            continue
        problem = account_problem(contact.account)
        if problem:
            checked.reject("contacts", i, problem)
            if contact.handle is not None:
                handles.pop(contact.handle, None)
                rejected_handles.setdefault(contact.handle, i)

    # domains -> accounts and contacts
    for i, domain in enumerate(checked.domains):
        if domain is None:
            continue
        problems = []
        problem = account_problem(domain.account)
        if problem:
            problems.append(problem)
        for role, handle in domain.roles.items():
            if handle in handles or handle in links.contacts:
                continue
            if handle in rejected_handles:
                problems.append(
                    f"contacts.{role}: contact {handle!r} was rejected "
                    f"(contacts[{rejected_handles[handle]}])"
                )
            else:
                problems.append(f"contacts.{role}: no contact {handle!r}")
        for problem in problems:
            checked.reject("domains", i, problem)
    return links
