"""Import and export of the store in the JSON exchange format (`interlink import` / `export`).

| module | its one job |
|---|---|
| `format` | the format: its keys and header, the tables it fills and their columns |
| `options` | `ImportOptions`: thresholds and batch sizes of an import |
| `report` | `ImportReport`: what an import did |
| `reader` | reading the file as a stream, a record at a time, any layout |
| `codec` | values in their stored form, by column type |
| `records` | the checked records (frozen dataclasses) and problems that the checks hand on |
| `checks` | the one table-driven check of a record |
| `checking` | the whole file read and checked, in worker processes for large files |
| `resolve` | duplicates and references, inside the file and into the store |
| `load` | the write transaction: ids, rows, executemany, the audit event |
| `streaming` | writing a large file while it is checked |
| `rejects` | the file of refused records and their reasons |
| `importer` | `import_records`: an import from start to end |
| `export` | `export_records` |
"""

from domains.exchange.export import export_records
from domains.exchange.format import FORMAT, SECTIONS, VERSION, ImportFileError
from domains.exchange.importer import import_records
from domains.exchange.options import DEFAULT_OPTIONS, ImportOptions
from domains.exchange.report import ImportReport

__all__ = [
    "DEFAULT_OPTIONS",
    "FORMAT",
    "SECTIONS",
    "VERSION",
    "ImportFileError",
    "ImportOptions",
    "ImportReport",
    "export_records",
    "import_records",
]
