"""Where the tests run: the repository's root, its demo data, and whether everything must run."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEMO_FILE = REPO / "fixtures" / "demo.json"
#: In CI (INTERLINK_REQUIRE_ALL=1) a test that lacks a tool or server fails instead of skipping.
REQUIRE_ALL = os.environ.get("INTERLINK_REQUIRE_ALL") == "1"
