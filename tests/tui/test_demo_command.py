"""`interlink demo`: the services come up around a fresh demo store and go down with it."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
REQUIRE_ALL = os.environ.get("INTERLINK_REQUIRE_ALL") == "1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def wait_for(condition, seconds: float = 60.0) -> bool:
    """Poll until condition() holds (waiting for a process, not timing it)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_headless_demo_serves_then_stops_everything(tmp_path):
    whois_port, http_port = free_port(), free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tui.cli",
            "demo",
            "--headless",
            "--dir",
            str(tmp_path / "demo"),
            "--whois-port",
            str(whois_port),
            "--http-port",
            str(http_port),
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    try:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if line.startswith("ready"):
                break
        output = "".join(lines)
        assert f"WHOIS 127.0.0.1:{whois_port}" in output
        assert "EPP sandbox :" in output and "sync on" in output
        sandbox_port = int(output.split("EPP sandbox :", 1)[1].split()[0])
        answer = httpx.get(f"http://127.0.0.1:{http_port}/rdap/domain/bücherstube-lindner.de")
        assert answer.status_code == 200
        assert answer.json()["ldhName"] == "xn--bcherstube-lindner-m6b.de"
        assert httpx.get(f"http://127.0.0.1:{http_port}/change").status_code == 200
        assert listening(whois_port) and listening(sandbox_port)
    finally:
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=60)
    assert process.returncode == 0, rest
    assert "demo stopped" in rest
    assert not listening(whois_port)
    assert not listening(http_port)
    assert not listening(sandbox_port)


@pytest.mark.skipif(
    shutil.which("tmux") is None and not REQUIRE_ALL, reason="tmux is not installed"
)
def test_demo_in_tmux_at_80x24_shows_domains_and_quits_cleanly(tmp_path):
    session = f"interlink-demo-{os.getpid()}"
    whois_port, http_port = free_port(), free_port()
    marker = tmp_path / "exit-code"
    command = (
        f"cd {REPO} && {sys.executable} -m tui.cli demo --dir {tmp_path / 'demo'} "
        f"--whois-port {whois_port} --http-port {http_port}; echo $? > {marker}"
    )
    subprocess.run(
        ["tmux", "new-session", "-d", "-s", session, "-x", "80", "-y", "24", command], check=True
    )

    def screen() -> str:
        return subprocess.run(
            ["tmux", "capture-pane", "-p", "-t", session], capture_output=True, text=True
        ).stdout

    try:
        started = time.monotonic()
        assert wait_for(lambda: "domain search: 75 shown" in screen(), 30), screen()
        shown_after = time.monotonic() - started
        text = screen()
        assert "F2 Domains" in text and "alpenblick-oberstdorf.com" in text
        assert all(len(line) <= 80 for line in text.splitlines())
        assert wait_for(lambda: "sync on" in screen(), 60), screen()
        assert listening(whois_port) and listening(http_port)
        subprocess.run(["tmux", "send-keys", "-t", session, "C-q"], check=True)
        assert wait_for(marker.exists, 60), screen()
        assert marker.read_text().strip() == "0"
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
    assert not listening(whois_port)
    assert not listening(http_port)
    # The time to the first screen is the benchmark's business (benchmarks/tui_latency.py);
    # here it only has to be there at all, loaded machine or not.
    assert shown_after < 30
