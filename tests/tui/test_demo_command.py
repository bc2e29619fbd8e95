"""`interlink demo`: the services come up around a fresh demo store and go down with it."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email import message_from_bytes, policy
from pathlib import Path

import httpx
import pytest

from domains.changes import Workflow
from domains.identity import system_login
from domains.store import Store
from domains.vocabulary import StaffRole
from tests.support.demo import HOLDER
from tests.support.factories import NEW_TECH
from tests.support.rdap_schema import rdap_answer
from tests.support.tmux import needs_tmux, tmux_session
from tui.demo_lock import DemoAlreadyRunning, DemoLock

REPO = Path(__file__).resolve().parents[2]


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


def start_demo(
    *options: str, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[str], str]:
    """`interlink demo --headless OPTIONS` and its output up to the "ready" line."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tui.cli", "demo", "--headless", *options],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    lines: list[str] = []
    assert process.stdout is not None
    for line in process.stdout:
        lines.append(line)
        if line.startswith("ready"):
            break
    return process, "".join(lines)


def stop_demo(process: subprocess.Popen[str]) -> str:
    """Ctrl-C, as a person would; the rest of the output."""
    process.send_signal(signal.SIGINT)
    rest, _ = process.communicate(timeout=60)
    return rest


def test_headless_demo_serves_then_stops_everything(tmp_path):
    whois_port, http_port = free_port(), free_port()
    process, output = start_demo(
        "--dir",
        str(tmp_path / "demo"),
        "--whois-port",
        str(whois_port),
        "--http-port",
        str(http_port),
    )
    try:
        assert f"WHOIS 127.0.0.1:{whois_port}" in output
        assert "EPP sandbox :" in output and "sync on" in output
        sandbox_port = int(output.split("EPP sandbox :", 1)[1].split()[0])
        answer = httpx.get(f"http://127.0.0.1:{http_port}/rdap/domain/bücherstube-lindner.de")
        assert answer.status_code == 200
        assert rdap_answer(answer.content)["ldhName"] == "xn--bcherstube-lindner-m6b.de"
        assert httpx.get(f"http://127.0.0.1:{http_port}/change").status_code == 200
        assert listening(whois_port) and listening(sandbox_port)
    finally:
        rest = stop_demo(process)
    assert process.returncode == 0, rest
    assert "demo stopped" in rest
    assert not listening(whois_port)
    assert not listening(http_port)
    assert not listening(sandbox_port)


@needs_tmux
def test_demo_in_tmux_at_80x24_shows_domains_and_quits_cleanly(tmp_path):
    whois_port, http_port = free_port(), free_port()
    marker = tmp_path / "exit-code"
    command = (
        f"cd {REPO} && {sys.executable} -m tui.cli demo --dir {tmp_path / 'demo'} "
        f"--whois-port {whois_port} --http-port {http_port}; echo $? > {marker}"
    )
    with tmux_session(command) as tmux:
        screen = tmux.screen
        started = time.monotonic()
        assert wait_for(lambda: "domain search: 75 shown" in screen(), 30), screen()
        shown_after = time.monotonic() - started
        text = screen()
        assert "F2 Domains" in text and "alpenblick-oberstdorf.com" in text
        assert all(len(line) <= 80 for line in text.splitlines())
        assert wait_for(lambda: "sync on" in screen(), 60), screen()
        assert listening(whois_port) and listening(http_port)

        # The banner says how a second terminal reaches this store, and where mail goes, and who
        # acts. A long temporary folder wraps anywhere (even inside "outbox/"): the lines are
        # read joined. A passing notification may cover part of it for a moment: wait for all.
        def joined() -> str:
            return "".join(line.strip() for line in screen().splitlines())

        wanted = (
            "another terminal: export",
            "INTERLINK_CONFIG=",
            "mail:",
            "outbox/",
            "Demo: acting as Ann Keller (ann, supervisor)",  # the default member
        )
        assert wait_for(lambda: all(part in joined() for part in wanted), 30), screen()
        text = screen()
        assert all(len(line) <= 80 for line in text.splitlines())
        tmux.keys("C-q")
        assert wait_for(marker.exists, 60), screen()
        assert marker.read_text().strip() == "0"
    assert not listening(whois_port)
    assert not listening(http_port)
    # The time to the first screen is the benchmark's business (benchmarks/tui_latency.py);
    # here it only has to be there at all, loaded machine or not.
    assert shown_after < 30


@dataclass
class RunningDemo:
    """A headless demo in DATA_DIR/demo (no --dir), and how to run commands beside it."""

    process: subprocess.Popen[str]
    output: str
    directory: Path
    env: dict[str, str]  # a second terminal before it follows the banner
    exported: dict[str, str]  # what the banner's shell line exports

    def port(self, pattern: str) -> int:
        return int(re.search(pattern, self.output).group(1))

    def interlink(self, *args: str, exported: bool = True) -> subprocess.CompletedProcess[str]:
        """`interlink ARGS` in a second terminal (that ran the banner's line, if `exported`)."""
        env = {**self.env, **(self.exported if exported else {})}
        return subprocess.run(
            [sys.executable, "-m", "tui.cli", *args],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Iterator[RunningDemo]:
    """One demo for the tests below, started as a newcomer would: `interlink demo`, no --dir."""
    root = tmp_path_factory.mktemp("demo-home")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INTERLINK_", "XDG_"))}
    env.update(HOME=str(root / "home"), INTERLINK_DATA_DIR=str(root / "data"))
    process, output = start_demo(
        "--whois-port", str(free_port()), "--http-port", str(free_port()), env=env
    )
    try:
        shell = re.search(r"^another terminal: (export .*)$", output, re.MULTILINE)
        assert shell and "sync on" in output, output
        words = shlex.split(shell.group(1))
        assert words[0] == "export"
        exported = dict(word.split("=", 1) for word in words[1:])
        directory = root / "data" / "demo"
        # A second terminal acts as whoever runs it (the system's identity): the demo made
        # them a supervisor beside its own staff.
        store = Store.open(f"sqlite:///{directory / 'demo.db'}")
        try:
            me = store.staff.active(system_login(store))
            assert me.roles == (StaffRole.SUPERVISOR,) and me.created_by == "staff:otto"
        finally:
            store.close()
        yield RunningDemo(process, output, directory, env, exported)
    finally:
        rest = stop_demo(process)
    assert process.returncode == 0, rest


def test_headless_output_points_another_terminal_at_the_demos_store_and_mail(demo):
    assert demo.exported == {"INTERLINK_CONFIG": str(demo.directory / "interlink.toml")}
    assert f"\nmail: {demo.directory / 'outbox'}/ (.eml files)\n" in demo.output

    before = demo.interlink("show", "harbourside-bikes.com", "--as", "whois", exported=False)
    assert before.returncode == 1 and before.stdout == ""
    assert "no store at" in before.stderr and "INTERLINK_CONFIG" in before.stderr
    assert not (Path(demo.env["HOME"])).exists()  # the default store was not made on the way

    shown = demo.interlink("show", "harbourside-bikes.com", "--as", "whois")
    assert shown.returncode == 0, shown.stderr
    assert "Domain Name: HARBOURSIDE-BIKES.COM" in shown.stdout

    # The same line reaches the demo's sandbox registry: what it holds agrees with the store.
    held = demo.interlink("registry", "show", "harbourside-bikes.com")
    assert held.returncode == 0, held.stderr
    assert "registry and store agree" in held.stdout


def whois(port: int, query: str) -> str:
    """One WHOIS question (RFC 3912) and its whole answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(query.encode() + b"\r\n")
        chunks = []
        while chunk := connection.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks).decode()


def test_a_second_demo_in_the_same_directory_is_refused_and_the_first_runs_on(demo, tmp_path):
    whois_port = demo.port(r"WHOIS 127\.0\.0\.1:(\d+)")
    http_port = demo.port(r"portal http://127\.0\.0\.1:(\d+)/")
    epp_port = demo.port(r"EPP sandbox :(\d+)")
    files = ("demo.db", "sandbox.db", "demo.lock", "registries.toml")
    inodes = {name: (demo.directory / name).stat().st_ino for name in files}
    claim = (demo.directory / "demo.lock").read_bytes()

    second = demo.interlink("demo", "--headless", "--whois-port", str(free_port()), exported=False)

    assert second.returncode == 1
    assert second.stdout == ""
    assert second.stderr.count("\n") == 1, second.stderr
    assert (
        f"error: a demo already runs in {demo.directory} (PID {demo.process.pid}; "
        f"WHOIS 127.0.0.1:{whois_port}, HTTP http://127.0.0.1:{http_port}/, "
        f"EPP sandbox :{epp_port}); quit it first, or run another one elsewhere with "
        "`interlink demo --dir OTHER_DIR`"
    ) in second.stderr
    assert {name: (demo.directory / name).stat().st_ino for name in files} == inodes
    assert (demo.directory / "demo.lock").read_bytes() == claim
    with pytest.raises(DemoAlreadyRunning, match=f"PID {demo.process.pid};"):
        DemoLock.take(demo.directory)
    assert demo.process.poll() is None
    assert "Domain Name: ASAKERAMIK.SE" in whois(whois_port, "asakeramik.se")

    # A request entered, confirmed and approved beside the demo reaches its sandbox registry:
    # the first demo's store, outbox folder and sync worker are all still the ones at work.
    contact = tmp_path / "tech.json"
    contact.write_text(json.dumps(NEW_TECH))
    store = Store.open(f"sqlite:///{demo.directory / 'demo.db'}")
    try:
        # The second terminal (whoever runs the demo, see the fixture) enters it; the demo's
        # supervisor, ann,
        # approves: another pair of eyes.
        entered = demo.interlink(
            "requests", "enter", "asakeramik.se", "--channel", "phone", "--contact", str(contact)
        )
        assert entered.returncode == 0, entered.stderr
        reference = re.search(r"CR-[A-Z0-9]{5}-[A-Z0-9]{5}", entered.stdout).group(0)
        mails = sorted((demo.directory / "outbox").glob("*.eml"))
        mail = message_from_bytes(mails[-1].read_bytes(), policy=policy.default)
        text = mail.get_body(("plain",)).get_content()
        token = re.search(r"/confirm/([A-Za-z0-9_-]+)", text).group(1)
        Workflow(store).confirm(token=token)
        Workflow(store).approve_and_apply(actor="staff:ann", reference=reference)
        assert wait_for(lambda: Workflow(store).get(reference).state == "completed")
    finally:
        store.close()
    listed = demo.interlink("requests", "list", "--state", "completed")
    assert reference in listed.stdout


def test_a_lock_left_by_a_killed_demo_does_not_block_a_new_one(tmp_path):
    directory = tmp_path / "demo"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(directory)],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    holder.kill()
    holder.communicate(timeout=30)
    assert json.loads((directory / "demo.lock").read_text())["pid"] == holder.pid

    process, output = start_demo(
        "--dir", str(directory), "--whois-port", str(free_port()), "--http-port", str(free_port())
    )
    try:
        assert "sync on" in output, output
        claim = json.loads((directory / "demo.lock").read_text())
        assert claim["pid"] == process.pid and {"whois", "http", "epp"} <= set(claim)
    finally:
        rest = stop_demo(process)
    assert process.returncode == 0, rest
