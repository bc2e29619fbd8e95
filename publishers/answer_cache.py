"""The public lookups' in-memory answer cache: least recently used first out, bounded in bytes.

An entry holds a domain's rendered answer split around its generation time (`head`, `tail`),
the fingerprint of the record it was rendered from, and `checked`: the store's data token when
the answer was last known right (publishers/public_lookup.py decides when it still is).
"""

from __future__ import annotations

import contextlib
import threading
from collections import OrderedDict
from typing import Any

#: Bytes counted for an entry besides its answer.
ENTRY_OVERHEAD = 256


class CachedAnswer:
    """One domain's answer (head None: not in the store; tail None: nothing to stamp)."""

    __slots__ = ("checked", "fingerprint", "head", "size", "tail")

    def __init__(self, fingerprint: Any, head: bytes | None, tail: bytes | None) -> None:
        self.fingerprint = fingerprint
        self.head = head
        self.tail = tail
        self.checked: Any = None
        self.size = ENTRY_OVERHEAD + len(head or b"") + len(tail or b"")


class AnswerCache:
    """Answers by A-label, at most `max_bytes` of them (entries counted with their overhead).

    Reads take no lock (the event loop reads while lookup threads write); writes do.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[str, CachedAnswer] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()
        #: The entry of a name, if any (the dict's own method: this is every answer's path).
        self.get = self._entries.get

    def touch(self, name: str) -> None:
        """Mark `name` as just used (it goes out last)."""
        with contextlib.suppress(KeyError):  # evicted meanwhile by a lookup thread
            self._entries.move_to_end(name)

    def keep(self, name: str, entry: CachedAnswer) -> None:
        """Keep `entry` for `name`, dropping the least recently used beyond `max_bytes`."""
        if entry.size > self.max_bytes:
            return
        with self._lock:
            old = self._entries.pop(name, None)
            if old is not None:
                self._size -= old.size
            self._entries[name] = entry
            self._size += entry.size
            while self._size > self.max_bytes and self._entries:
                _, dropped = self._entries.popitem(last=False)
                self._size -= dropped.size

    def drop(self, name: str) -> None:
        """Forget the entry of `name`, if any."""
        with self._lock:
            old = self._entries.pop(name, None)
            if old is not None:
                self._size -= old.size

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._entries.clear()
            self._size = 0

    @property
    def size(self) -> int:
        """Bytes held (with the fixed overhead per entry)."""
        return self._size
