"""Import and export of the store in the JSON exchange format (`interlink import` / `export`)."""

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
