"""Commands that only read never make a store, and a failing command writes nothing on stdout."""

from __future__ import annotations

import os
import pwd
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from domains.settings import Settings, get_settings
from domains.store import Store
from domains.vocabulary import StaffRole
from tests.support.environment import REQUIRE_ALL
from tests.support.postgres import NO_POSTGRES, POSTGRES_URL
from tests.support.staff import add_me
from tui.cli import app

REPO = Path(__file__).resolve().parents[2]
READERS = [
    pytest.param(["show", "harbourside-bikes.com"], id="show"),
    pytest.param(["requests", "list"], id="requests-list"),
    pytest.param(["requests", "show", "CR-AAAAA-AAAAA"], id="requests-show"),
    pytest.param(["export", "{tmp}/export.json"], id="export"),
    pytest.param(["notices"], id="notices"),
]


@pytest.fixture
def missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Settings naming a SQLite file, in a folder, that do not exist (as on a first day)."""
    path = tmp_path / "nowhere" / "interlink.db"
    monkeypatch.setenv("INTERLINK_DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.setenv("INTERLINK_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    yield path
    get_settings.cache_clear()


def invoke(args: list[str], tmp_path: Path):
    """The command through the real `interlink` group, stdout and stderr apart."""
    return CliRunner().invoke(app, [arg.replace("{tmp}", str(tmp_path)) for arg in args])


@pytest.mark.parametrize("args", READERS)
def test_a_read_only_command_on_a_missing_store_says_how_to_make_one_and_makes_nothing(
    args, missing, tmp_path
):
    result = invoke(args, tmp_path)

    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith(f"error: no store at {missing}; make one with ")
    assert "`interlink db upgrade`" in result.stderr
    assert "`interlink import FILE`" in result.stderr
    assert "export INTERLINK_CONFIG=" in result.stderr and "demo" in result.stderr
    assert not missing.parent.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.parametrize("args", READERS)
def test_db_option_naming_a_missing_file_is_refused_the_same_way(args, tmp_path):
    path = tmp_path / "typo.db"
    result = invoke([*args, "--db", f"sqlite:///{path}"], tmp_path)
    assert result.exit_code == 1
    assert f"no store at {path}; make one with `interlink db upgrade --db sqlite:///{path}`" in (
        result.stderr
    )
    assert not path.exists()


def test_commands_that_write_still_make_the_store(missing, tmp_path):
    """On a first day: the import makes the store but refuses who is not staff yet; the first
    admin is made with --bootstrap, grants themself the supervisor role and imports."""
    refused = invoke(["import", str(REPO / "fixtures" / "demo.json")], tmp_path)
    assert refused.exit_code == 1 and refused.stdout == ""
    assert "is not a member of staff" in refused.stderr and refused.stderr.count("\n") == 1
    assert missing.exists()
    assert invoke(["staff", "add", "--bootstrap"], tmp_path).exit_code == 0
    me = pwd.getpwuid(os.getuid()).pw_name
    assert invoke(["staff", "grant", me, "supervisor"], tmp_path).exit_code == 0
    imported = invoke(["import", str(REPO / "fixtures" / "demo.json")], tmp_path)
    assert imported.exit_code == 0, imported.output
    shown = invoke(["show", "harbourside-bikes.com", "--as", "whois"], tmp_path)
    assert shown.exit_code == 0, shown.output
    assert "Domain Name: HARBOURSIDE-BIKES.COM" in shown.stdout


def test_an_error_naming_markup_like_text_is_shown_as_it_is(tmp_path):
    path = tmp_path / "[bold]odd[/]" / "x.db"
    result = invoke(["show", "x.com", "--db", f"sqlite:///{path}"], tmp_path)
    assert result.exit_code == 1
    assert f"no store at {path};" in result.stderr


def test_a_database_url_that_is_no_url_is_one_line_not_a_traceback(tmp_path):
    result = invoke(["requests", "list", "--db", "not a url"], tmp_path)
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.startswith("error: the database URL (--db or INTERLINK_DATABASE_URL)")
    assert result.stderr.count("\n") == 1
    assert isinstance(result.exception, SystemExit)  # a clean exit, not an error raised out


@pytest.mark.skipif(POSTGRES_URL is None and not REQUIRE_ALL, reason=NO_POSTGRES)
def test_a_missing_postgresql_database_is_one_clear_line(tmp_path):
    from sqlalchemy.engine import make_url

    url = make_url(POSTGRES_URL).set(database="interlink_no_such_database").render_as_string(False)
    result = invoke(["show", "x.com", "--db", url], tmp_path)
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.startswith("error: the database failed: ")
    assert '"interlink_no_such_database" does not exist' in result.stderr
    assert result.stderr.count("\n") == 1


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    """An empty, migrated store."""
    url = f"sqlite:///{tmp_path / 'store.db'}"
    store = Store.open(settings=Settings(database_url=url, data_dir=tmp_path / "data"))
    add_me(store, StaffRole.PRIVACY)  # the failures below are the store's, not a refusal
    store.close()
    return url


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["show", "nosuchdomain.com"], id="show"),
        pytest.param(["export", "{tmp}/no-such-folder/out.json"], id="export"),
        pytest.param(["requests", "show", "CR-AAAAA-AAAAA"], id="requests-show"),
    ],
)
def test_a_failing_command_writes_nothing_on_stdout(args, store_url, tmp_path):
    """As a shell sees it: `interlink ... > out.txt` leaves out.txt empty, the error on stderr."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tui.cli",
            *[arg.replace("{tmp}", str(tmp_path)) for arg in args],
            "--db",
            store_url,
        ],
        cwd=REPO,
        capture_output=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert result.stdout == b""
    assert result.stderr.decode().startswith("error: ")
    assert "member of staff" not in result.stderr.decode()
