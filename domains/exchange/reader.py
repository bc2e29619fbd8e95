"""Reading the export file as a stream: one record at a time, any JSON layout.

The whole file is never in memory (a record at a time, in a buffer of about `read_chunk` bytes);
syntax errors are reported with their line and column.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO, cast

import orjson

from domains.exchange.format import FORMAT, SECTIONS, VERSION, ImportFileError, kind_of
from domains.exchange.options import DEFAULT_OPTIONS

#: White space between JSON values; it always matches (maybe the empty string).
_skip_space = cast("Callable[[str, int], re.Match[str]]", re.compile(r"[ \t\n\r]*").match)
#: json's own scanner: (value, end) of the JSON value at a position in a text (set by __init__).
_scan_once: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


class NotOneRecordPerLine(Exception):
    """The fast reading (a record per line) does not fit this file: read it record by record."""


class Reader:
    """An incremental reader of the export's JSON: yields one record at a time, any layout."""

    def __init__(
        self,
        stream: BinaryIO,
        name: str,
        on_bytes: Callable[[int], None],
        chunk: int = DEFAULT_OPTIONS.read_chunk,
    ) -> None:
        self.stream = stream
        self.name = name
        self.on_bytes = on_bytes
        self.chunk = chunk
        self.decoder = codecs.getincrementaldecoder("utf-8-sig")()
        self.buf = ""
        self.pos = 0
        self.eof = False
        self.bytes_read = 0
        self.lines_before = 0  # newlines in the text already dropped from the buffer
        self.column_before = 0  # characters after the last dropped newline

    # low level

    def _fill(self, size: int | None = None) -> bool:
        """Append more text to the buffer; False at the end of the file."""
        if self.eof:
            return False
        if self.pos:
            dropped = self.buf[: self.pos]
            newlines = dropped.count("\n")
            if newlines:
                self.lines_before += newlines
                self.column_before = len(dropped) - dropped.rfind("\n") - 1
            else:
                self.column_before += len(dropped)
            self.buf = self.buf[self.pos :]
            self.pos = 0
        data = self.stream.read(size or self.chunk)
        try:
            text = self.decoder.decode(data, final=not data)
        except UnicodeDecodeError as exc:
            raise ImportFileError(
                f"{self.name} is not UTF-8 text (bad byte at offset {self.bytes_read + exc.start})"
            ) from None
        self.bytes_read += len(data)
        self.on_bytes(len(data))
        if not data:
            self.eof = True
        self.buf += text
        return bool(data)

    def where(self, pos: int | None = None) -> str:
        """'line L, column C' of a position in the buffer."""
        pos = self.pos if pos is None else pos
        newline = self.buf.rfind("\n", 0, pos)
        line = self.lines_before + self.buf.count("\n", 0, pos) + 1
        column = pos - newline if newline >= 0 else self.column_before + pos + 1
        return f"line {line}, column {column}"

    def fail(self, message: str, pos: int | None = None) -> ImportFileError:
        return ImportFileError(f"{self.name}: not valid JSON at {self.where(pos)}: {message}")

    def peek(self) -> str:
        """The next character that is not white space ('' at the end of the file)."""
        while True:
            end = _skip_space(self.buf, self.pos).end()
            if end < len(self.buf):
                self.pos = end
                return self.buf[end]
            self.pos = end
            if not self._fill():
                return ""

    def expect(self, chars: str, what: str) -> str:
        char = self.peek()
        if not char or char not in chars:
            found = f"found {char!r}" if char else "the file ends"
            raise self.fail(f"expected {what}, {found}")
        self.pos += 1
        return char

    def value(self) -> Any:
        """Decode the JSON value at the current position."""
        return self.span()[0]

    def span(self) -> tuple[Any, int]:
        """Decode the JSON value at the current position: (value, where it starts in buf)."""
        if not self.peek():
            raise self.fail("expected a value, the file ends")
        while True:
            try:
                begin = self.pos
                value, end = _scan_once(self.buf, self.pos)
            except (StopIteration, json.JSONDecodeError):
                if self._fill(self._grow()):
                    continue  # the value may go on in the next chunk
                raise self._error_here() from None
            if end >= len(self.buf) and self._fill():
                continue  # a number may go on in the next chunk
            self.pos = end
            return value, begin

    def _error_here(self) -> ImportFileError:
        """The syntax error at the current position, at the end of the file."""
        try:
            _scan_once(self.buf, self.pos)
        except StopIteration as stop:
            return self.fail("expected a value", stop.value)
        except json.JSONDecodeError as exc:
            return self.fail(exc.msg, exc.pos)
        return self.fail("the file ends in the middle of a value")

    def _grow(self) -> int:
        # A record longer than the buffer: read as much again, so re-scanning stays linear.
        return max(self.chunk, len(self.buf))

    # structure

    def top(self, texts: bool = False) -> Iterator[tuple[str, Any]]:
        """(key, value) of the top-level object; sections come as iterators of records.

        With `texts`, records come as their JSON text, not decoded: a record alone on its line
        (as an export writes them) is taken as it is, without decoding it here, and the worker
        that decodes it raises NotOneRecordPerLine if it was not a whole record.
        """
        char = self.peek()
        if char != "{":
            if not char:
                raise ImportFileError(f"{self.name} is empty; expected an Interlink export")
            found = kind_of(self.value()) if char in '["0123456789-tfn' else repr(char)
            raise ImportFileError(
                f"{self.name} is not an Interlink export: expected a JSON object "
                f'{{"format": "{FORMAT}", "version": {VERSION}, "accounts": [...], '
                f'"contacts": [...], "domains": [...]}} at the top, found {found}'
            )
        self.pos += 1
        seen: set[str] = set()
        if self.peek() == "}":
            self.pos += 1
        else:
            while True:
                if self.peek() != '"':
                    raise self.fail("expected a key in double quotes")
                key = self.value()
                self.expect(":", "':' after a key")
                if key in seen:
                    raise ImportFileError(f"{self.name}: the key {key!r} appears twice")
                seen.add(key)
                if key in SECTIONS:
                    if self.peek() != "[":
                        found = kind_of(self.value())
                        raise ImportFileError(
                            f"{self.name}: {key!r} must be a list of records, found {found}"
                        )
                    self.pos += 1
                    yield key, self._texts() if texts else self._records()
                else:
                    yield key, self.value()
                if self.expect(",}", "',' or '}' after a value") == "}":
                    break
        if self.peek():
            raise self.fail("extra data after the end of the export object")

    def _records(self) -> Iterator[Any]:
        if self.peek() == "]":
            self.pos += 1
            return
        while True:
            yield self.value()
            if self.expect(",]", "',' or ']' after a record") == "]":
                return

    def _texts(self) -> Iterator[str]:
        if self.peek() == "]":
            self.pos += 1
            return
        while True:
            self.peek()
            newline = self.buf.find("\n", self.pos)
            if newline >= 0:
                line = self.buf[self.pos : newline].rstrip()
                if line.endswith(","):
                    line = line[:-1]
                self.pos += len(line)
                yield line
            else:  # no line end in the buffer: decode it here after all, and pass its text
                _value, begin = self.span()
                yield self.buf[begin : self.pos]
            char = self.peek()
            if char == ",":
                self.pos += 1
            elif char == "]":
                self.pos += 1
                return
            else:
                raise NotOneRecordPerLine


_decode = json.JSONDecoder().decode
#: Every byte of a text as "0" if it is a digit, else as "x": to find long numbers fast.
_DIGIT_SHAPES = bytes(0x30 if 0x30 <= byte <= 0x39 else 0x78 for byte in range(256))
#: 19 digits in a row: maybe an integer beyond 64 bits, which orjson reads as a float.
_LONG_DIGITS = b"0" * 19


def loads(text: str) -> Any:
    """The record of a JSON text, exactly as json decodes it, by orjson where that is the same.

    orjson is several times faster. It reads the same values, except integers beyond 64 bits (as
    floats: such texts go to json), and it refuses what json accepts beyond the JSON standard (NaN,
    Infinity, 1e400, lone surrogates) or beyond its depth limit: json decides those.
    """
    data = text.encode("utf-8", "surrogatepass")  # lone surrogates: bad UTF-8, refused by orjson
    if _LONG_DIGITS not in data.translate(_DIGIT_SHAPES):
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass
    return _decode(text)
