"""What an import did: the report `import_records` returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from domains.exchange.format import SECTIONS


@dataclass
class ImportReport:
    """What an import did: counts written per kind, and every problem found."""

    source: str
    accounts: int = 0
    contacts: int = 0
    domains: int = 0
    roles: int = 0
    #: DS records of the domains written.
    ds: int = 0
    house_mapped: int = 0
    rejected: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SECTIONS, 0))
    problems: list[str] = field(default_factory=list)
    written: bool = False
    seconds: float = 0.0
    #: Seconds spent reading and checking, resolving references, writing.
    timings: dict[str, float] = field(default_factory=dict)
    rejects_path: Path | None = None

    @property
    def ok(self) -> bool:
        """True when every record of the file was good."""
        return not self.problems

    def counts(self) -> dict[str, int]:
        """Records written, by kind."""
        return {
            "accounts": self.accounts,
            "contacts": self.contacts,
            "domains": self.domains,
            "roles": self.roles,
            "ds": self.ds,
        }

    def summary(self) -> str:
        """One line for people."""
        if not self.written:
            bad = sum(self.rejected.values())
            return (
                f"nothing imported from {self.source}: {bad} bad record(s), "
                f"{len(self.problems)} problem(s)"
            )
        text = (
            f"imported {self.accounts} accounts, {self.contacts} contacts, {self.domains} domains "
            f"({self.roles} roles"
            + (f", {self.ds} DS records" if self.ds else "")
            + f") from {self.source} in {self.seconds:.1f} s"
        )
        if self.house_mapped:
            text += "; the house contact of the file was mapped to this store's house contact"
        rejected = [f"{n} {kind}" for kind, n in self.rejected.items() if n]
        if rejected:
            text += "; rejected " + ", ".join(rejected)
        return text
