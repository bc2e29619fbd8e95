"""The demo's directory lock: held by one process, refused to others, gone when its holder dies."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.demo import HOLDER
from tui.demo_lock import LOCK_FILE, DemoAlreadyRunning, DemoLock

REPO = Path(__file__).resolve().parents[2]


def snapshot(directory: Path) -> dict[str, tuple[int, int, int]]:
    """Every file of the directory: inode, size and modification time."""
    return {
        entry.name: (entry.stat().st_ino, entry.stat().st_size, entry.stat().st_mtime_ns)
        for entry in directory.iterdir()
    }


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the lock of tmp_path/demo (killed at the end if still alive)."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path / "demo")],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None and process.stdout.readline().strip() == "held"
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=30)


def test_a_held_directory_is_refused_with_the_holders_pid_and_ports_and_left_alone(
    tmp_path, holder
):
    directory = tmp_path / "demo"
    before = snapshot(directory)
    content = (directory / LOCK_FILE).read_bytes()
    assert json.loads(content) == {"pid": holder.pid, "whois": 4343, "http": 8080, "epp": 7700}

    with pytest.raises(DemoAlreadyRunning) as refused:
        DemoLock.take(directory)

    message = str(refused.value)
    assert f"a demo already runs in {directory} (PID {holder.pid};" in message
    assert "WHOIS 127.0.0.1:4343, HTTP http://127.0.0.1:8080/, EPP sandbox :7700" in message
    assert "--dir" in message and "\n" not in message
    assert snapshot(directory) == before
    assert (directory / LOCK_FILE).read_bytes() == content
    assert holder.poll() is None


def test_the_lock_of_a_killed_demo_blocks_nothing(tmp_path, holder):
    directory = tmp_path / "demo"
    holder.send_signal(signal.SIGKILL)
    holder.wait(30)
    assert (directory / LOCK_FILE).exists()  # what the killed demo left behind

    lock = DemoLock.take(directory)
    try:
        assert json.loads((directory / LOCK_FILE).read_text()) == {"pid": os.getpid()}
        lock.record(whois=4344, epp=None)
        assert json.loads((directory / LOCK_FILE).read_text()) == {
            "pid": os.getpid(),
            "whois": 4344,
        }
        with pytest.raises(DemoAlreadyRunning, match=f"PID {os.getpid()}; WHOIS"):
            DemoLock.take(directory)  # another open file: refused even within one process
    finally:
        lock.release()
    assert (directory / LOCK_FILE).read_bytes() == b""  # a clean stop leaves no claims behind
    with DemoLock.hold(directory):
        pass


def test_a_lock_file_naming_no_ports_yet_is_said_so(tmp_path):
    directory = tmp_path / "demo"
    with DemoLock.hold(directory), pytest.raises(DemoAlreadyRunning) as refused:
        DemoLock.take(directory)
    assert "its ports are not known yet" in str(refused.value)
