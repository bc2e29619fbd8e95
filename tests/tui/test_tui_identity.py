"""`interlink tui` acts as the member of staff the system says you are, or does not start."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

from domains.exchange import import_records
from domains.identity import system_login
from domains.store import Store
from domains.vocabulary import StaffRole
from tests.support.environment import DEMO_FILE
from tests.support.pilot import demo_settings
from tests.support.rdds import poll
from tests.support.staff import ADMIN, add_me, seed_staff
from tests.support.tmux import needs_tmux, tmux_session

REPO = Path(__file__).resolve().parents[2]


def run_tui(tmp_path: Path, database: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`interlink tui --db DATABASE ARGS` with no terminal and a clean environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INTERLINK_", "XDG_"))}
    env.update(HOME=str(tmp_path / "home"), INTERLINK_DATA_DIR=str(tmp_path / "data"))
    return subprocess.run(
        [sys.executable, "-m", "tui.cli", "tui", "--db", f"sqlite:///{database}", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )


def staffed_store(tmp_path: Path) -> tuple[Path, Store]:
    database = tmp_path / "staff.db"
    store = Store.open(settings=demo_settings(database, tmp_path / "data"))
    seed_staff(store)
    return database, store


def test_someone_who_is_not_staff_gets_one_line_and_no_app(tmp_path):
    database, store = staffed_store(tmp_path)
    login = system_login(store)
    store.close()
    result = run_tui(tmp_path, database)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == (
        f"error: {login!r} is not a member of staff; an admin adds you with "
        f"`interlink staff add {login} --name NAME --role ROLE`\n"
    )


def test_a_disabled_member_gets_one_line_and_no_app(tmp_path):
    database, store = staffed_store(tmp_path)
    actor = add_me(store, StaffRole.SUPERVISOR)
    login = actor.removeprefix("staff:")
    store.staff.disable(f"staff:{ADMIN}", login)
    store.close()
    result = run_tui(tmp_path, database)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == (
        f"error: the staff account {login!r} is disabled; an admin can tell you why\n"
    )


def test_there_is_no_user_option_to_claim_another_name(tmp_path):
    database, store = staffed_store(tmp_path)
    store.close()
    result = run_tui(tmp_path, database, "--user", "ann")
    assert result.returncode == 2
    assert "No such option: --user" in result.stderr


@needs_tmux
def test_a_member_of_staff_gets_the_app_as_themselves_at_80x24(tmp_path):
    database, store = staffed_store(tmp_path)
    try:
        report = import_records(store, DEMO_FILE, actor="system:demo")
        assert report.written, report.problems
        actor = add_me(store, StaffRole.SUPPORT)
    finally:
        store.close()
    marker = tmp_path / "exit-code"
    command = (
        f"cd {shlex.quote(str(REPO))} && env -u INTERLINK_CONFIG -u INTERLINK_DATABASE_URL "
        f"{shlex.quote(sys.executable)} -m tui.cli tui --db sqlite:///{shlex.quote(str(database))}"
        f"; echo $? > {shlex.quote(str(marker))}"
    )
    with tmux_session(command) as tmux:
        poll(lambda: "domain search:" in tmux.screen(), 60, what="the Domains screen")
        assert f"{actor} (support)" in tmux.screen()
        tmux.keys("C-q")
        poll(marker.exists, 60, what="the app to quit")
        assert marker.read_text().strip() == "0"
