"""What the record checks hand on: checked records, ready to write, and the problems found.

Checked records cross from the check workers to the main process by pickle, millions of them:
each pickles as its class and its fields (`__reduce__`), which costs about what a tuple does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias


@dataclass(frozen=True, slots=True)
class AccountRecord:
    """A checked account."""

    number: str
    #: The stored values of the checked columns of `account` (format.CHECKED_COLUMNS).
    values: tuple[Any, ...]

    @property
    def label(self) -> str:
        """What messages call it."""
        return self.number

    def __reduce__(self) -> tuple[Any, ...]:
        return AccountRecord, (self.number, self.values)


@dataclass(frozen=True, slots=True)
class ContactRecord:
    """A checked contact. Its id and account id are given when it is written; so is its handle
    when the file gives none."""

    handle: str | None
    #: The number of the owning account, if any.
    account: str | None
    #: The file's house contact: mapped to the store's own, never written.
    house: bool
    #: The stored values of the checked columns of `contact` (format.CHECKED_COLUMNS).
    values: tuple[Any, ...]

    @property
    def label(self) -> str | None:
        """What messages call it."""
        return self.handle

    def __reduce__(self) -> tuple[Any, ...]:
        return ContactRecord, (self.handle, self.account, self.house, self.values)


@dataclass(frozen=True, slots=True)
class DomainRecord:
    """A checked domain with its roles."""

    name: str  # the A-label
    unicode_name: str  # the U-label
    #: The number of the owning account.
    account: str
    #: role -> contact handle, as the file gives them.
    roles: Mapping[str, str]
    #: The stored values of the checked columns of `domain` (format.CHECKED_COLUMNS).
    values: tuple[Any, ...]
    #: Its DS records: (key tag, algorithm, digest type, digest), checked, sorted.
    ds: tuple[tuple[int, int, int, str], ...] = ()

    @property
    def label(self) -> str:
        """What messages call it: the name as people write it."""
        return self.unicode_name

    def __reduce__(self) -> tuple[Any, ...]:
        return DomainRecord, (
            self.name,
            self.unicode_name,
            self.account,
            self.roles,
            self.values,
            self.ds,
        )


Record: TypeAlias = AccountRecord | ContactRecord | DomainRecord


@dataclass(frozen=True, slots=True)
class Problem:
    """What is wrong with a record: the field ("" for the record as a whole) and why."""

    field: str
    message: str

    @property
    def text(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


@dataclass(frozen=True, slots=True)
class Rejection:
    """A record refused by its own checks: its key as the file gives it, and every problem."""

    label: str | None
    problems: tuple[Problem, ...]


@dataclass(frozen=True, slots=True)
class CheckedBatch:
    """A batch of records of one section after checking, in file order."""

    section: str
    #: The position of the first record of the batch in its section.
    start: int
    #: Each record checked, or None where it was refused.
    records: list[Any]
    #: position in the batch -> why that record was refused.
    rejected: dict[int, Rejection]
