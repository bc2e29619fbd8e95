"""A private PostgreSQL primary and its streaming hot standby, built in a temporary directory."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from domains.settings import Settings
from domains.store import Store
from tests.support.environment import REQUIRE_ALL
from tests.support.net import free_port
from tests.support.rdds import poll
from tests.support.staff import with_staff

#: Where Debian installs each PostgreSQL version's server binaries.
DEBIAN_PG = Path("/usr/lib/postgresql")
TOOLS = ("initdb", "pg_ctl", "pg_basebackup")
#: The clusters' settings: loopback only, small, fast, and quiet (no autovacuum writing WAL).
CONF = """
listen_addresses = '127.0.0.1'
port = {port}
unix_socket_directories = '{sockets}'
shared_buffers = 16MB
max_connections = 40
fsync = off
full_page_writes = off
autovacuum = off
wal_level = replica
max_wal_senders = 4
hot_standby = on
"""
START_TIMEOUT = 60


def server_bin() -> Path | None:
    """The newest installed PostgreSQL's bin directory that has every tool needed."""
    found = []
    if DEBIAN_PG.is_dir():
        for entry in DEBIAN_PG.iterdir():
            if entry.name.isdigit() and all((entry / "bin" / tool).exists() for tool in TOOLS):
                found.append((int(entry.name), entry / "bin"))
    return max(found)[1] if found else None


def _owner() -> pwd.struct_passwd | None:
    """Whom the clusters run as: `postgres` when we are root (initdb refuses root), else us."""
    if os.geteuid() != 0:
        return pwd.getpwuid(os.geteuid())
    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        return None


def why_not() -> str | None:
    """Why no replica can be built on this machine, or None."""
    if server_bin() is None:
        return f"no PostgreSQL server binaries ({', '.join(TOOLS)}) under {DEBIAN_PG}/*/bin"
    if _owner() is None:
        return "running as root and there is no `postgres` OS user to run initdb as"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root and `runuser` is missing (needed to run initdb as postgres)"
    return None


def need_replica() -> None:
    """Skip (or, with INTERLINK_REQUIRE_ALL=1, fail) when no replica can be built here."""
    reason = why_not()
    if reason:
        message = f"no streaming replica for the tests: {reason}"
        if REQUIRE_ALL:
            pytest.fail(message)
        pytest.skip(message)


@dataclass(frozen=True)
class Cluster:
    """One running server of the pair."""

    name: str
    data: Path
    port: int

    def url(self, database: str = "postgres") -> str:
        """Its SQLAlchemy URL (psycopg), as the superuser `postgres`."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def libpq(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def one(self, sql: str, database: str = "postgres") -> object:
        """The first value of `sql`, run as superuser in autocommit."""
        with psycopg.connect(self.libpq(database), autocommit=True, connect_timeout=5) as conn:
            cursor = conn.execute(sql)
            row = cursor.fetchone() if cursor.description else None
            return None if row is None else row[0]


@dataclass(frozen=True)
class ReplicaPair:
    """A primary, its hot standby streaming from it, and a migrated template database."""

    primary: Cluster
    standby: Cluster
    template: str

    def new_database(self) -> str:
        """A fresh copy of the migrated template on the primary, replayed on the standby."""
        name = f"interlink_r_{uuid.uuid4().hex[:12]}"
        self.primary.one(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        self.wait_replayed()
        return name

    def wait_replayed(self, timeout: float = 30.0) -> None:
        """Return once the standby has replayed everything the primary has written so far."""
        position = self.primary.one("SELECT pg_current_wal_lsn()::text")
        sql = f"SELECT pg_last_wal_replay_lsn() >= '{position}'::pg_lsn"
        poll(lambda: self.standby.one(sql) is True, timeout=timeout, what="the standby's replay")

    def pause_replay(self) -> None:
        self.standby.one("SELECT pg_wal_replay_pause()")
        poll(
            lambda: self.standby.one("SELECT pg_get_wal_replay_pause_state()") == "paused",
            what="the standby to pause its replay",
        )

    def resume_replay(self) -> None:
        self.standby.one("SELECT pg_wal_replay_resume()")


class _Builder:
    """Runs the server tools as the clusters' owner, in one private directory."""

    def __init__(self) -> None:
        bin_dir, owner = server_bin(), _owner()
        assert bin_dir is not None and owner is not None, why_not()
        self.bin = bin_dir
        self.owner = owner
        self.root = Path(tempfile.mkdtemp(prefix="interlink-replica-"))
        os.chown(self.root, owner.pw_uid, owner.pw_gid)
        self.started: list[Cluster] = []

    def run(self, tool: str, *args: str) -> None:
        command = [str(self.bin / tool), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", self.owner.pw_name, "--", *command]
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=START_TIMEOUT, cwd=self.root
        )
        if done.returncode != 0:
            logs = "".join(
                f"\n--- {log.name}\n{log.read_text(errors='replace')[-3000:]}"
                for log in sorted(self.root.glob("*.log"))
            )
            raise RuntimeError(
                f"{tool} failed ({done.returncode}): {done.stderr.strip()}"
                f"{done.stdout.strip()}{logs}"
            )

    def configure(self, name: str, port: int) -> Cluster:
        data = self.root / name
        with (data / "postgresql.conf").open("a", encoding="utf-8") as conf:
            conf.write(CONF.format(port=port, sockets=self.root))
        return Cluster(name, data, port)

    def start(self, cluster: Cluster) -> None:
        log = self.root / f"{cluster.name}.log"
        self.run(
            "pg_ctl", "start", "-w", "-t", str(START_TIMEOUT), "-D", str(cluster.data),
            "-l", str(log),
        )  # fmt: skip
        self.started.append(cluster)

    def stop_all(self) -> None:
        for cluster in reversed(self.started):
            with contextlib.suppress(Exception):  # stopped already, or never fully started
                self.run("pg_ctl", "stop", "-m", "immediate", "-D", str(cluster.data))
        self.started.clear()
        shutil.rmtree(self.root, ignore_errors=True)


@contextlib.contextmanager
def replica_pair(data_dir: Path) -> Iterator[ReplicaPair]:
    """Build a primary and a streaming hot standby, with a migrated template database
    (the store's data directory: `data_dir`); stop both and remove them afterwards."""
    builder = _Builder()
    try:
        primary_dir = str(builder.root / "primary")
        builder.run(
            "initdb", "-D", primary_dir, "--auth=trust", "-U", "postgres", "-E", "UTF8",
            "--locale=C", "--no-sync",
        )  # fmt: skip
        primary = builder.configure("primary", free_port())
        builder.start(primary)
        builder.run(
            "pg_basebackup", "-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres",
            "-D", str(builder.root / "standby"), "-R", "-X", "stream", "-c", "fast",
            "--no-sync",
        )  # fmt: skip
        standby = builder.configure("standby", free_port())
        builder.start(standby)
        assert standby.one("SELECT pg_is_in_recovery()") is True
        poll(
            lambda: (
                primary.one("SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'")
                == 1
            ),
            timeout=START_TIMEOUT,
            what="the standby to stream from the primary",
        )
        template = "interlink_replica_template"
        primary.one(f'CREATE DATABASE "{template}"')
        settings = Settings(database_url=primary.url(template), data_dir=data_dir)
        with_staff(Store.open(settings=settings)).close()
        pair = ReplicaPair(primary, standby, template)
        pair.wait_replayed()
        yield pair
    finally:
        builder.stop_all()
