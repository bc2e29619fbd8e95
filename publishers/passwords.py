"""Contact passwords (EPP authInfo) made to a registry's rule: length, required kinds, symbols."""

from __future__ import annotations

import secrets
import string
from collections.abc import Iterable
from dataclasses import dataclass

from domains.vocabulary import PasswordClass

DEFAULT_SYMBOLS = "!#$%*+-.=?@^_~"
"""Symbols every registry we know accepts: no quotes, no XML specials, no spaces."""
SYMBOLS_ALLOWED = frozenset(string.punctuation)
"""What a rule may list as symbols: ASCII punctuation (no space, letter, digit or non-ASCII)."""
SHORTEST, LONGEST = 6, 64
"""The bounds of a rule's lengths (RFC 5730's own passwords are 6-16)."""
GENERATED_LENGTH = 16
"""How long a generated password is when the rule allows it."""

_POOLS = {
    PasswordClass.LETTER: string.ascii_letters,
    PasswordClass.LOWER: string.ascii_lowercase,
    PasswordClass.UPPER: string.ascii_uppercase,
    PasswordClass.DIGIT: string.digits,
}


class PasswordRuleError(ValueError):
    """A rule that no password can meet or that we refuse; key names its item."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message


def _kinds(values: Iterable[str]) -> tuple[PasswordClass, ...]:
    kinds: list[PasswordClass] = []
    for value in values:
        try:
            kind = PasswordClass(value)
        except ValueError:
            known = ", ".join(PasswordClass)
            raise PasswordRuleError(
                "require", f"{value!r} is not a kind of character; kinds are {known}"
            ) from None
        if kind not in kinds:
            kinds.append(kind)
    return tuple(kinds)


@dataclass(frozen=True)
class PasswordRule:
    """A registry's rule for contact passwords: min..max characters, at least one of each
    required kind, symbols only from `symbols` (letters and digits are always allowed)."""

    min_length: int = 8
    max_length: int = 16
    required: tuple[PasswordClass, ...] = (
        PasswordClass.LETTER,
        PasswordClass.DIGIT,
        PasswordClass.SYMBOL,
    )
    symbols: str = DEFAULT_SYMBOLS

    def __post_init__(self) -> None:
        object.__setattr__(self, "required", _kinds(self.required))
        object.__setattr__(self, "symbols", "".join(dict.fromkeys(self.symbols)))
        if not SHORTEST <= self.min_length <= LONGEST:
            raise PasswordRuleError(
                "min_length", f"must be between {SHORTEST} and {LONGEST}, not {self.min_length}"
            )
        if not self.min_length <= self.max_length <= LONGEST:
            raise PasswordRuleError(
                "max_length",
                f"must be between min_length ({self.min_length}) and {LONGEST}, "
                f"not {self.max_length}",
            )
        odd = [c for c in self.symbols if c not in SYMBOLS_ALLOWED]
        if odd:
            raise PasswordRuleError(
                "symbols",
                f"{odd[0]!r} is not an ASCII symbol (letters, digits, spaces and non-ASCII "
                "characters are not symbols)",
            )
        if PasswordClass.SYMBOL in self.required and not self.symbols:
            raise PasswordRuleError("symbols", "a rule that requires a symbol must list some")

    @property
    def alphabet(self) -> str:
        """Every character a password may hold."""
        return string.ascii_letters + string.digits + self.symbols

    def pool(self, kind: PasswordClass) -> str:
        """The characters of one kind."""
        return self.symbols if kind == PasswordClass.SYMBOL else _POOLS[kind]

    def problems(self, password: str) -> list[str]:
        """What password lacks to meet the rule, in words that never quote it (empty: it does)."""
        found = []
        if not self.min_length <= len(password) <= self.max_length:
            found.append(f"must be {self.min_length} to {self.max_length} characters long")
        allowed = set(self.alphabet)
        if any(c not in allowed for c in password):
            found.append(f"may hold only letters, digits and the symbols {self.symbols}")
        for kind in self.required:
            pool = set(self.pool(kind))
            if not any(c in pool for c in password):
                found.append(f"needs at least one {kind} character")
        return found

    def generate(self) -> str:
        """A new random password (from `secrets`) that meets the rule."""
        length = min(self.max_length, max(self.min_length, GENERATED_LENGTH))
        chosen = [secrets.choice(self.pool(kind)) for kind in self.required]
        alphabet = self.alphabet
        chosen += [secrets.choice(alphabet) for _ in range(length - len(chosen))]
        secrets.SystemRandom().shuffle(chosen)
        return "".join(chosen)


DEFAULT_RULE = PasswordRule()
"""The common rule: 8-16 characters with a letter, a digit and a symbol."""

__all__ = ["DEFAULT_RULE", "DEFAULT_SYMBOLS", "PasswordRule", "PasswordRuleError"]
