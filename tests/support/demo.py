"""The demo's helpers: a child process that holds the demo lock as a killed demo would."""

from __future__ import annotations

#: A process that locks the directory named by argv[1] as a demo would, says so, and waits.
HOLDER = """
import sys
from pathlib import Path
from tui.demo_lock import DemoLock
lock = DemoLock.take(Path(sys.argv[1]))
lock.record(whois=4343, http=8080, epp=7700)
print("held", flush=True)
sys.stdin.read()
"""
