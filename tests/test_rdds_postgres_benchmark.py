"""benchmarks/rdds_postgres.py --quick end to end: the store on both backends, every line."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from benchmarks.pg_store import ensure_postgres_copy
from tests.support.environment import REQUIRE_ALL
from tests.support.postgres import NO_POSTGRES, POSTGRES_URL, postgres_database

REPO = Path(__file__).resolve().parent.parent

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(POSTGRES_URL is None and not REQUIRE_ALL, reason=NO_POSTGRES),
]

RUN = r"[\d,]+/s p50 \d+\.\d ms p99 \d+\.\d ms"
SIDE = rf"{RUN}( \(\d+ failures, [\d,]+ not-found\))?"
SIDE_BY_SIDE = (
    rf"(WHOIS|RDAP) +(uniform|zipf) +SQLite {SIDE} \| PostgreSQL {SIDE} \| "
    r"ratio \d+\.\d\d \(target >= 0\.7\): (met|NOT met)"
)
PROCESSES = (
    r"(WHOIS|RDAP) +uniform +(SQLite|PostgreSQL) processes=2"
    rf"( {RUN} vs processes=1 [\d,]+/s \(target: above\): (above|NOT above)"
    r"|: `interlink serve --processes 2` did not start \(.+\): not measured)"
)
BARE = (
    r"bare psycopg point lookup of a published answer, uniform names: one connection, sync "
    r"[\d,]+/s; 8 AsyncConnections [\d,]+/s \(for information\)"
)


@pytest.fixture
def database() -> Iterator[str]:
    """A PostgreSQL database name for the benchmark's copy of the store, dropped afterwards."""
    for url in postgres_database():
        name = make_url(url).database
        assert name
        yield name


def run(database: str, bench_dir: Path) -> list[str]:
    done = subprocess.run(
        [
            sys.executable,
            "benchmarks/rdds_postgres.py",
            "--quick",
            "--processes",
            "2",
            "--pg-database",
            database,
        ],
        cwd=REPO,
        env={
            **os.environ,
            "INTERLINK_BENCH_DIR": str(bench_dir),
            "INTERLINK_TEST_POSTGRES_URL": str(POSTGRES_URL),
        },
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    return done.stdout.splitlines()


def test_the_benchmark_prints_both_backends_side_by_side(
    tmp_path: Path, database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    printed = run(database, tmp_path)

    assert re.fullmatch(r"machine: \d+ CPUs, load average [\d. ]+ at start; .*", printed[0])
    assert any(
        line.startswith(f"copied the store into PostgreSQL database {database}: ")
        for line in printed
    )
    side = [line for line in printed if re.fullmatch(SIDE_BY_SIDE, line)]
    assert [line.split()[:2] for line in side] == [
        ["WHOIS", "uniform"],
        ["WHOIS", "zipf"],
        ["RDAP", "uniform"],
        ["RDAP", "zipf"],
    ]
    assert not any("failures" in line or "not-found" in line for line in side), side
    more = [line for line in printed if re.fullmatch(PROCESSES, line)]
    assert [line.split()[:3] for line in more] == [
        ["WHOIS", "uniform", "SQLite"],
        ["RDAP", "uniform", "SQLite"],
        ["WHOIS", "uniform", "PostgreSQL"],
        ["RDAP", "uniform", "PostgreSQL"],
    ]
    assert re.fullmatch(BARE, printed[-1])
    # The copy holds every domain of the SQLite store and their published answers, and is reused.
    url = ensure_postgres_copy(tmp_path / "store-2000.db", str(POSTGRES_URL), database)
    plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(plain) as pg:
        counts = pg.execute(
            "SELECT (SELECT count(*) FROM domain), (SELECT count(*) FROM published_answer)"
        ).fetchone()
    assert counts == (2000, 2000)
    assert (
        capsys.readouterr().out == f"PostgreSQL database {database} holds the same store (reused)\n"
    )
