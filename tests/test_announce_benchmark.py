"""The announcement benchmark's core on 200 recipients: both targets, both loops, every mail out."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from benchmarks.announce_rate import measure

REPO = Path(__file__).resolve().parent.parent


def test_the_benchmark_sends_every_mail_both_ways_and_prints_the_ratio(tmp_path: Path) -> None:
    results = measure(200, tmp_path)

    assert [r.target for r in results] == ["eml", "smtp"]
    for result in results:
        assert (result.announce_sent, result.bare_sent) == (200, 200)
        assert result.announce_rate > 0 and result.bare_rate > 0
    eml, smtp = (r.line() for r in results)
    assert re.match(r"announce 200 -> \.eml files: [\d,]+ msg/s; bare write_bytes loop ", eml)
    assert re.match(r"announce 200 -> aiosmtpd: [\d,]+ msg/s; bare smtplib loop [\d,]+ msg/s", smtp)
    assert re.search(r"ratio \d\.\d\d \(target >= 0\.7\): (met|NOT met)", smtp)
    assert len(list((tmp_path / "eml" / "data" / "outbox").glob("notice-*.eml"))) == 200
    assert len(list((tmp_path / "eml" / "bare").glob("bare-*.eml"))) == 200


def test_the_benchmark_explains_itself() -> None:
    shown = subprocess.run(
        [sys.executable, "benchmarks/announce_rate.py", "--help"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert shown.returncode == 0
    assert "--recipients" in shown.stdout and "bare render-and-send loop" in shown.stdout
