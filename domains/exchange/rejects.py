"""The rejects file: the records an import refused, as they were in the file, with the reasons."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from domains.exchange.checking import Checked
from domains.exchange.format import SECTIONS, VERSION
from domains.exchange.reader import Reader


def write_rejects(path: Path, target: Path, checked: Checked, *, read_chunk: int) -> None:
    """Write the rejected records of `path` to `target`, each with its reasons."""
    out: dict[str, list[dict[str, Any]]] = {section: [] for section in SECTIONS}
    wanted: dict[str, dict[int, list[str]]] = {section: {} for section in SECTIONS}
    for (section, index), reasons in checked.reasons.items():
        wanted[section][index] = reasons
    with path.open("rb") as stream:
        reader = Reader(stream, path.name, lambda _n: None, read_chunk)
        for key, value in reader.top():
            if key not in SECTIONS:
                continue
            for index, record in enumerate(value):
                given = wanted[key].get(index)
                if given is not None:
                    out[key].append({"index": index, "reasons": given, "record": record})
    tmp = target.with_name(target.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as stream:
        stream.write(f'{{"format": "interlink-rejects", "version": {VERSION}, ')
        stream.write(f'"source": {json.dumps(path.name, ensure_ascii=False)}')
        for section in SECTIONS:
            stream.write(f',\n"{section}": [')
            for n, item in enumerate(out[section]):
                stream.write("\n" if n == 0 else ",\n")
                stream.write(json.dumps(item, ensure_ascii=False))
            stream.write("\n]" if out[section] else "]")
        stream.write("}\n")
    tmp.replace(target)
