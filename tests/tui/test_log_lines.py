"""What the commands log names an exception by its type only: no traceback, and none of its text
(a library's exception text can carry SQL and its values, such as an e-mail address)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT = """
import logging
from tui.commands.common import configure_logging
configure_logging(verbose=False)
try:
    try:
        raise ValueError("no route to 192.0.2.1")
    except ValueError as exc:
        raise RuntimeError("INSERT INTO contact VALUES ('m.quist@example.org')") from exc
except RuntimeError:
    logging.getLogger("sqlalchemy.pool").error("Exception during reset or similar", exc_info=True)
"""


def test_a_library_exception_is_logged_by_type_only() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "ERROR sqlalchemy.pool: Exception during reset or similar" in done.stderr
    assert "(RuntimeError <- ValueError)" in done.stderr
    assert "Traceback" not in done.stderr
    assert "example.org" not in done.stderr and "INSERT" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 2, done.stderr
