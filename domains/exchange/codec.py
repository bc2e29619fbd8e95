"""How checked values are stored: the dialect's own bind processors, done ahead in the checks.

On SQLite the import hands the driver values in their stored form (text for times and lists,
integers for flags), made exactly as SQLAlchemy would make them; elsewhere the driver takes Python
values and SQLAlchemy converts them. Which conversion a column needs follows from its type.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from functools import lru_cache
from json.encoder import encode_basestring_ascii
from typing import Any

from sqlalchemy import Boolean, Column, DateTime
from sqlalchemy.types import JSON, TypeDecorator

from domains.models import JSONText

Encoder = Callable[[Any], Any]


def same(value: Any) -> Any:
    """The value as it is (the driver takes it, or SQLAlchemy converts it)."""
    return value


def _json_text(value: Any) -> Any:
    """An optional JSON object's stored text (JSONText), as SQLAlchemy would bind it."""
    return JSONText().process_bind_param(value, None)


@dataclass(frozen=True)
class Codec:
    """Encoders of values to their stored form, by the kind of column."""

    when: Encoder
    json: Encoder
    flag: Encoder
    json_text: Encoder = same  # an optional JSON object kept as text (JSONText)

    def for_column(self, column: Column[Any]) -> Encoder:
        """The encoder of a column, by its type (a TypeDecorator by the type it stores as)."""
        if isinstance(column.type, JSONText):
            return self.json_text
        kind = column.type.impl if isinstance(column.type, TypeDecorator) else column.type
        if isinstance(kind, DateTime):
            return self.when
        if isinstance(kind, JSON):
            return self.json
        if isinstance(kind, Boolean):
            return self.flag
        return same


@lru_cache(maxsize=4)
def codec_for(dialect_name: str) -> Codec:
    """The encoders to the stored form of a dialect, the same SQLAlchemy would use."""
    if dialect_name != "sqlite":
        return Codec(same, same, same)
    from sqlalchemy.dialects import sqlite

    dialect = sqlite.dialect()
    when = DateTime(timezone=True).dialect_impl(dialect).bind_processor(dialect) or same
    as_json = json_texts(JSON().dialect_impl(dialect).bind_processor(dialect) or same)
    flag = Boolean().dialect_impl(dialect).bind_processor(dialect) or same

    @lru_cache(maxsize=4096)
    def encode_words(words: tuple[str, ...]) -> Any:
        return as_json(list(words))

    def encode_json(value: Any) -> Any:
        # Lists of words (statuses, name servers, consented fields) repeat: encode each once.
        return encode_words(tuple(value)) if len(value) < 8 else as_json(value)

    return Codec(when=sqlite_when(when), json=encode_json, flag=flag, json_text=_json_text)


#: The text of a time on SQLite (SQLAlchemy's DATETIME storage format), with positional fields.
_SQLITE_WHEN = "%04d-%02d-%02d %02d:%02d:%02d.%06d"
_WHEN_PROBES = (
    datetime(1, 1, 1),
    datetime(999, 12, 31, 23, 59, 59, 999999),
    datetime(2026, 1, 31, 12, 0, tzinfo=UTC),
    datetime(9999, 12, 31, 1, 2, 3, 45, tzinfo=timezone(timedelta(hours=-5))),
)


def sqlite_when(processor: Callable[[Any], Any]) -> Callable[[datetime | None], Any]:
    """SQLAlchemy's SQLite datetime bind processor, as the same formatting done directly.

    The processor formats a dict of the fields of the time (the zone is not stored; times here are
    UTC), three times slower than the same format with positional fields. The direct form is
    used only if it gives SQLAlchemy's text for every probe, and only for datetime instances.
    """

    def direct(value: datetime | None) -> Any:
        if type(value) is not datetime:
            return None if value is None else processor(value)
        return _SQLITE_WHEN % (
            value.year,
            value.month,
            value.day,
            value.hour,
            value.minute,
            value.second,
            value.microsecond,
        )

    def via_processor(value: datetime | None) -> Any:
        return None if value is None else processor(value)

    return direct if all(direct(t) == processor(t) for t in _WHEN_PROBES) else via_processor


_JSON_PROBES: tuple[list[str], ...] = (
    [],
    ["ok"],
    ["12 Rue de l'Église", 'say "hi"', "back\\slash", "\u2028 \x00 😀"],
)


def json_texts(processor: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """SQLAlchemy's JSON bind processor, with json.dumps' text of a list of strings built directly.

    The processor gives json.dumps(value): for a list of strings, "[", the strings each encoded by
    json's own encode_basestring_ascii and joined by ", ", "]"; building that directly saves
    setting up an encoder for each of millions of short lists. Used only if it gives the
    processor's text for every probe; anything but a list of strings goes to the processor.
    """

    def direct(value: Any) -> Any:
        if type(value) is not list or any(type(item) is not str for item in value):
            return processor(value)
        return "[" + ", ".join(map(encode_basestring_ascii, value)) + "]"

    return direct if all(direct(p) == processor(p) for p in _JSON_PROBES) else processor
