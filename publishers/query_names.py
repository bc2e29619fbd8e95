"""Query names of the public services: what a client typed, as the A-label the store keys by.

`normalise` turns a query (A-label or U-label, any case, one trailing dot) into the A-label, or
refuses it with a one-line reason (`QueryError`): control characters, not IDNA2008, a label over
63 octets, no dot, letters of two scripts in one label (no registry registers such a label; it
is how homograph look-alikes are made).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import idna

from domains import explain

MAX_QUERY_CHARS = 512
MAX_NAME_OCTETS = 253
#: Scripts that may share a label with each other (Japanese, Korean, Chinese, with ASCII).
_EAST_ASIAN = frozenset({"CJK", "HIRAGANA", "KATAKANA", "KATAKANA-HIRAGANA", "HANGUL", "BOPOMOFO"})


class QueryError(ValueError):
    """A query that is not a domain name; the message is one printable ASCII line."""


def _printable(text: str, limit: int = 120) -> str:
    """One short line of printable ASCII (anything else becomes '?')."""
    cleaned = "".join(ch if " " <= ch <= "~" else "?" for ch in text)
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 3] + "..."


def _script(char: str) -> str | None:
    """A letter's script from its Unicode name (LATIN, CYRILLIC, CJK...); None for a non-letter."""
    if not unicodedata.category(char).startswith("L"):
        return None
    if char.isascii():
        return "ASCII"
    name = unicodedata.name(char, "")
    return name.split(" ", 1)[0] if name else "UNKNOWN"


def mixed_scripts(label: str) -> tuple[str, ...]:
    """The scripts a label mixes when they may not share a label; () when it is fine.

    One script per label (ASCII letters count as Latin), except that the East Asian scripts go
    together and with ASCII letters, as .jp, .cn and .kr allow.
    """
    scripts = {s for s in map(_script, label) if s is not None}
    if len(scripts) <= 1 or scripts <= _EAST_ASIAN | {"ASCII"}:
        return ()
    scripts = {"LATIN" if s == "ASCII" else s for s in scripts}
    return tuple(sorted(scripts)) if len(scripts) > 1 else ()


@lru_cache(maxsize=4096)
def _normalised(query: str) -> tuple[bool, str]:
    """(True, A-label) or (False, reason): cached, since the same names are asked again."""
    raw = query.strip(" ")  # str.strip() would also eat controls such as U+0085 and U+2028
    if not raw:
        return False, "empty query; send a domain name such as example.com"
    if len(raw) > MAX_QUERY_CHARS:
        return False, "query too long"
    for char in raw:
        if unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
            return False, f"control or invisible character U+{ord(char):04X} in the query"
        if char.isspace():
            return False, "the query holds a space; send one domain name"
    if raw.endswith("."):
        raw = raw[:-1]
    try:
        alabel = idna.encode(raw, uts46=True, transitional=False).decode("ascii").lower()
        ulabel = idna.decode(alabel)
    except idna.IDNAError:
        return False, f"not a valid domain name: {_printable(explain.name_problem(raw), 160)}"
    except (UnicodeError, ValueError):
        return False, "not a valid domain name"
    if len(alabel) > MAX_NAME_OCTETS:
        return False, f"name longer than {MAX_NAME_OCTETS} octets"
    if "." not in alabel:
        return False, "not a full domain name; send it with its TLD, e.g. example.com"
    for label in ulabel.split("."):
        mixed = mixed_scripts(label)
        if mixed:
            return False, f"a label mixes scripts ({', '.join(mixed)}); no such name is registered"
    return True, alabel


#: A plain LDH name: letters, digits and hyphens, no hyphen at either end of a label. UTS-46
#: maps it to its lower case and IDNA2008 has nothing more to check in it, unless a label has
#: hyphens in its 3rd and 4th places (A-labels, reserved labels): those go through idna.
_PLAIN = re.compile(
    r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
)


def _plain(query: str) -> str | None:
    """The A-label of a plain LDH query (any case, one trailing dot); None for anything else."""
    if not query.isascii():
        return None
    name = query.lower()
    if name.endswith("."):
        name = name[:-1]
    if len(name) > MAX_NAME_OCTETS or _PLAIN.fullmatch(name) is None:
        return None
    if "--" in name and any(label[2:4] == "--" for label in name.split(".")):
        return None
    return name


def normalise(query: str) -> str:
    """The A-label (lower case) of a query in A-label or U-label form, or QueryError."""
    # Most queries are plain ASCII names: those skip the idna package (tens of microseconds).
    plain = _plain(query)
    if plain is not None:
        return plain
    ok, value = _normalised(query)
    if not ok:
        raise QueryError(value)
    return value
