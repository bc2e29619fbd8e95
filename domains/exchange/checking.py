"""Reading the whole file and checking every record, in file order: the checked file.

Files of `parallel_min_bytes` and more are checked by worker processes, a batch at a time, so every
core helps (started with the forkserver method: a program that imports such a file needs the usual
`if __name__ == "__main__":` guard). Their records are sent as the text of their line, decoded in
the worker; a file that is not one record per line is read again, record by record.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from multiprocessing.pool import ApplyResult, Pool
from pathlib import Path
from typing import TYPE_CHECKING, Any

from domains.exchange.checks import check_batch
from domains.exchange.format import FORMAT, SECTIONS, TOP_KEYS, ImportFileError, check_header
from domains.exchange.options import ImportOptions
from domains.exchange.reader import NotOneRecordPerLine, Reader
from domains.exchange.records import AccountRecord, CheckedBatch, ContactRecord, DomainRecord

if TYPE_CHECKING:
    from rich.progress import Progress

    from domains.exchange.streaming import Streaming


@dataclass
class Checked:
    """Every record of the file after checking; None where a record is bad."""

    accounts: list[AccountRecord | None] = field(default_factory=list)
    contacts: list[ContactRecord | None] = field(default_factory=list)
    domains: list[DomainRecord | None] = field(default_factory=list)
    labels: dict[tuple[str, int], str | None] = field(default_factory=dict)
    reasons: dict[tuple[str, int], list[str]] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    def records(self, section: str) -> list[Any]:
        """The records of a section, in file order."""
        records: list[Any] = getattr(self, section)
        return records

    def add(self, batch: CheckedBatch) -> None:
        """A checked batch, in file order."""
        self.records(batch.section).extend(batch.records)
        for offset, rejection in batch.rejected.items():
            where = (batch.section, batch.start + offset)
            self.labels[where] = rejection.label
            self.reasons.setdefault(where, []).extend(p.text for p in rejection.problems)

    def reject(self, section: str, index: int, reason: str) -> None:
        """Refuse a record that passed its own checks (a duplicate, a broken reference)."""
        records = self.records(section)
        record = records[index]
        if record is not None and (section, index) not in self.labels:
            self.labels[(section, index)] = record.label
        self.reasons.setdefault((section, index), []).append(reason)
        records[index] = None

    def where(self, section: str, index: int) -> str:
        label = self.labels.get((section, index))
        return f"{section}[{index}]" + (f" ({label})" if label else "")

    def clear(self) -> None:
        """Forget everything (to read the file again)."""
        for section in SECTIONS:
            self.records(section).clear()
        self.labels.clear()
        self.reasons.clear()
        self.meta.clear()


#: Allocations between two young collections in a check worker (Python's default: 700).
WORKER_GC_THRESHOLD = 20_000


def _worker_started() -> None:
    """Keep the cyclic garbage collector from taking a tenth of a check worker's time.

    A worker starts with this module and the validation libraries loaded (large tables) and keeps
    them to the end: they are frozen, so that full collections no longer walk them again. And a
    batch allocates millions of objects, nearly all freed by reference counting: collecting young
    objects every 20,000 allocations instead of every 700 finds the same rare cycles, later.
    Measured: 8% of the check time in the collector before, 2% after. (The collector only frees
    unreachable objects: no result changes.)
    """
    gc.freeze()
    gc.set_threshold(WORKER_GC_THRESHOLD, *gc.get_threshold()[1:])


class Checker:
    """Runs the record checks, in this process or in a pool of workers, in file order."""

    def __init__(self, parallel: bool, now: datetime, dialect_name: str) -> None:
        self.now = now
        self.dialect_name = dialect_name
        self.texts = parallel
        self.pool: Pool | None = None
        self.in_flight: deque[ApplyResult[CheckedBatch | None]] = deque()
        self.max_in_flight = 0
        if parallel:
            workers = max(1, min(os.cpu_count() or 1, 8))
            # forkserver, not fork: the caller may run threads (a progress display, a server)
            # and hold connections; the workers start from a clean process that has already
            # imported this module (and with it the checks and the validation libraries).
            if "forkserver" in multiprocessing.get_all_start_methods():
                forkserver = multiprocessing.get_context("forkserver")
                forkserver.set_forkserver_preload([__name__])
                self.pool = forkserver.Pool(workers, initializer=_worker_started)
            else:
                spawn = multiprocessing.get_context("spawn")
                self.pool = spawn.Pool(workers, initializer=_worker_started)
            self.max_in_flight = workers * 4

    def cancel(self) -> None:
        """Forget the batches in flight: their results are no longer wanted."""
        self.in_flight.clear()

    def close(self) -> None:
        if self.pool is not None:
            self.pool.terminate()
            self.pool.join()
            self.pool = None

    def submit(self, section: str, start: int, records: list[Any]) -> Iterator[CheckedBatch]:
        """Queue a batch; yields the finished batches in file order."""
        args = (section, start, records, self.now, self.dialect_name, self.texts)
        if self.pool is None:
            yield self._done(check_batch(*args))
            return
        self.in_flight.append(self.pool.apply_async(check_batch, args))
        while len(self.in_flight) > self.max_in_flight or (
            self.in_flight and self.in_flight[0].ready()
        ):
            yield self._done(self.in_flight.popleft().get())

    def drain(self) -> Iterator[CheckedBatch]:
        while self.in_flight:
            yield self._done(self.in_flight.popleft().get())

    @staticmethod
    def _done(batch: CheckedBatch | None) -> CheckedBatch:
        if batch is None:
            raise NotOneRecordPerLine
        return batch


def read_and_check(
    path: Path,
    checked: Checked,
    *,
    now: datetime,
    dialect_name: str,
    parallel: bool,
    streaming: Streaming | None,
    progress: Progress | None,
    options: ImportOptions,
) -> None:
    """Read the whole file, checking every record; fills `checked` (and feeds `streaming`)."""
    task = None
    if progress is not None:
        task = progress.add_task(f"checking {path.name}", total=path.stat().st_size or 1)

    def advance(n: int) -> None:
        if progress is not None and task is not None and n:
            progress.advance(task, n)

    checker = Checker(parallel, now, dialect_name)
    try:
        try:
            _read(path, checked, checker, advance, streaming, options)
        except NotOneRecordPerLine:
            # Not a record per line after all: start again, decoding record by record here.
            checked.clear()
            checker.texts = False
            if streaming is not None:
                streaming.failed = True
            if progress is not None and task is not None:
                progress.reset(task)
            _read(path, checked, checker, advance, None, options)
    finally:
        checker.close()
        if progress is not None and task is not None:
            progress.remove_task(task)


def _read(
    path: Path,
    checked: Checked,
    checker: Checker,
    advance: Callable[[int], None],
    streaming: Streaming | None,
    options: ImportOptions,
) -> None:
    """One pass over the file: every record checked, in file order."""

    def take(done: Iterator[CheckedBatch]) -> None:
        for batch in done:
            if streaming is not None:
                streaming.feed(batch)
            checked.add(batch)

    try:
        with path.open("rb") as stream:
            reader = Reader(stream, path.name, advance, options.read_chunk)
            for key, value in reader.top(texts=checker.texts):
                if key not in SECTIONS:
                    checked.meta[key] = value
                    if key not in TOP_KEYS:
                        raise ImportFileError(
                            f"{path.name}: unknown top-level key {key!r}; an export holds "
                            + ", ".join(sorted(TOP_KEYS))
                        )
                    check_header(path.name, checked.meta)
                    continue
                batch: list[Any] = []
                start = 0
                for record in value:
                    batch.append(record)
                    if len(batch) >= options.check_batch:
                        take(checker.submit(key, start, batch))
                        start += len(batch)
                        batch = []
                if batch:
                    take(checker.submit(key, start, batch))
                take(checker.drain())
        if "format" not in checked.meta:
            raise ImportFileError(
                f'{path.name} is not an Interlink export: it has no "format": "{FORMAT}"'
            )
    except BaseException:
        checker.cancel()
        raise
