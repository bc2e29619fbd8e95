"""How an import runs: thresholds and batch sizes, in one frozen object passed down the import."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ImportOptions:
    """The knobs of an import. The defaults are what `interlink import` uses; tests pass others
    (small batches, parallel checking of a small file) to reach every path with small files."""

    #: Files at least this large are checked by worker processes (when there is more than one
    #: core); below it, starting the workers costs more than they save.
    parallel_min_bytes: int = 32 << 20
    #: Files checked in parallel are written while they are checked (see streaming.py).
    streaming: bool = True
    #: Records per batch sent to a worker.
    check_batch: int = 2000
    #: Rows per executemany.
    write_batch: int = 20000
    #: A table that an import grows at least this much (and more than it holds) gets its
    #: secondary indexes built after the rows are in (SQLite only; see load.defer_indexes).
    defer_indexes_min_rows: int = 50_000
    #: Bytes the reader reads at a time.
    read_chunk: int = 1 << 20


DEFAULT_OPTIONS = ImportOptions()
