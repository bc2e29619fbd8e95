"""Errors that every face of the product shows to people as they are."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    """One refused field: where it is, and why in words a person understands."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class InterlinkError(Exception):
    """Base of the errors a user may see; their text never carries a traceback."""


class ValidationFailed(InterlinkError):
    """Input was refused; `errors` names every bad field and its reason."""

    def __init__(self, errors: list[FieldError] | FieldError, record: str | None = None) -> None:
        self.errors = [errors] if isinstance(errors, FieldError) else list(errors)
        self.record = record
        prefix = f"{record}: " if record else ""
        super().__init__(prefix + "; ".join(str(e) for e in self.errors))

    def for_field(self, field: str) -> str | None:
        """The message for one field, or None if that field was fine."""
        for error in self.errors:
            if error.field == field:
                return error.message
        return None


class ConflictError(InterlinkError):
    """A write based on a stale version of a record; nothing was overwritten."""

    def __init__(self, entity: str, key: str, expected: int, current: int) -> None:
        self.entity = entity
        self.key = key
        self.expected = expected
        self.current = current
        super().__init__(
            f"{entity} {key} was changed by someone else (you edited version {expected}, "
            f"the store has version {current}); reload it and apply your change again"
        )


class NotFound(InterlinkError):
    """The record asked for does not exist."""

    def __init__(self, entity: str, key: str) -> None:
        self.entity = entity
        self.key = key
        super().__init__(f"no {entity} {key!r}")


class RuleViolation(InterlinkError):
    """An action the rules forbid (a locked domain, a role that does not exist, ...)."""
