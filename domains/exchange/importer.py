"""`import_records`: an import from start to end.

1. **Check** (no writes). The file is read as a stream and every record is checked (checking.py,
   checks.py), by worker processes for large files. Then the references are resolved
   (resolve.py). Every problem names the record (`domains[37]`: positions count from 0, as in
   the file's lists), its key, the field and the reason.
2. **Write**, only if nothing is wrong (or with `skip_invalid`, only the good records; a record
   that needs a rejected one is rejected too): one transaction (load.py).

Large files are written while they are checked (streaming.py): at the first problem that stops,
is rolled back at the end, and the import goes the two-step way.

Why no audit event per record: an import of a million domains would write three million audit rows
that say nothing the file does not (no before, the after is the file), double the time of the
import and bury the trail staff actually read. The `store.import` event records who imported which
file when and how many records of each kind; every record keeps its own `created_at` (and domains
their `updated_at`) from the file, and the file itself is the before/after. Later changes to the
imported records are audited one by one as usual.

Imported records are not queued in the outbox: they come from a store that already holds them at the
registry (handles and ROIDs are registry identities and are kept as they are).
"""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.exc import IntegrityError, OperationalError

from domains import audit
from domains.exchange.checking import Checked, read_and_check
from domains.exchange.format import SECTIONS, ImportFileError
from domains.exchange.load import write_checked
from domains.exchange.options import DEFAULT_OPTIONS, ImportOptions
from domains.exchange.rejects import write_rejects
from domains.exchange.report import ImportReport
from domains.exchange.resolve import resolve
from domains.exchange.streaming import Streaming
from domains.models import utcnow
from domains.staff import Permission, require

if TYPE_CHECKING:
    from rich.progress import Progress

    from domains.store import Store


def import_records(
    store: Store,
    path: Path,
    *,
    actor: str,
    skip_invalid: bool = False,
    rejects_path: Path | None = None,
    progress: Progress | None = None,
    options: ImportOptions = DEFAULT_OPTIONS,
) -> ImportReport:
    """Import an export file: all-or-nothing unless `skip_invalid` (see the module text); staff
    need the supervisor role (IMPORT)."""
    path = Path(path)
    actor = audit.check_actor(actor)
    with store.read() as session:  # staff need the supervisor role, before anything is read
        require(session, actor, Permission.IMPORT)
    if not path.is_file():
        raise ImportFileError(f"{path} does not exist or is not a file")
    try:
        with _without_cyclic_gc():
            return _import(store, path, actor, skip_invalid, rejects_path, progress, options)
    except IntegrityError as exc:
        raise _changed_meanwhile(exc) from None
    except OperationalError as exc:  # e.g. the store is locked by another writer, disk full
        reason = str(exc.orig).splitlines()[0] if exc.orig else str(exc).splitlines()[0]
        raise ImportFileError(
            f"the store could not be written ({reason}); nothing was imported"
        ) from None


def _import(
    store: Store,
    path: Path,
    actor: str,
    skip_invalid: bool,
    rejects_path: Path | None,
    progress: Progress | None,
    options: ImportOptions,
) -> ImportReport:
    started = time.perf_counter()
    report = ImportReport(source=path.name)
    now = utcnow()
    checked = Checked()
    size = path.stat().st_size
    parallel = size >= options.parallel_min_bytes and (os.cpu_count() or 1) > 1
    streaming = Streaming(store, size, options) if parallel and options.streaming else None
    try:
        read_and_check(
            path,
            checked,
            now=now,
            dialect_name=store.engine.dialect.name,
            parallel=parallel,
            streaming=streaming,
            progress=progress,
            options=options,
        )
    except BaseException:
        if streaming is not None:
            streaming.load.abort()
        raise
    report.timings["check"] = time.perf_counter() - started
    if streaming is not None:
        finishing = time.perf_counter()
        if streaming.finish(report, actor):
            report.written = True
            report.timings["write (after the check)"] = time.perf_counter() - finishing
            report.seconds = time.perf_counter() - started
            return report
    links = resolve(store, checked)
    report.timings["resolve"] = time.perf_counter() - started - sum(report.timings.values())

    for (section, index), reasons in sorted(
        checked.reasons.items(), key=lambda item: (SECTIONS.index(item[0][0]), item[0][1])
    ):
        where = checked.where(section, index)
        report.problems.extend(f"{where}: {reason}" for reason in reasons)
        report.rejected[section] += 1

    if checked.reasons and (skip_invalid or rejects_path is not None):
        target = rejects_path or path.with_name(path.stem + ".rejects.json")
        write_rejects(path, target, checked, read_chunk=options.read_chunk)
        report.rejects_path = target
    if checked.reasons and not skip_invalid:
        report.seconds = time.perf_counter() - started
        return report
    writing = time.perf_counter()
    write_checked(store, checked, links, report, actor=actor, progress=progress, options=options)
    report.written = True
    report.timings["write"] = time.perf_counter() - writing
    report.seconds = time.perf_counter() - started
    return report


@contextmanager
def _without_cyclic_gc() -> Iterator[None]:
    """No cyclic garbage collection while millions of checked records pile up in memory.

    They hold no reference cycles (frozen records of strings, freed by reference counting), but
    every collection of the oldest generation walks all of them: at a million domains that was a
    third of the main process's time. Collection resumes (and catches up) afterwards.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _changed_meanwhile(exc: IntegrityError) -> ImportFileError:
    return ImportFileError(
        "the store changed while the file was being checked (another change added a record "
        "the file also holds); nothing was imported, run the import again "
        f"({str(exc.orig).splitlines()[0] if exc.orig else exc})"
    )
