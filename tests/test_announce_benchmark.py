"""The announcement benchmark's core on 200 recipients: both targets, both loops, every mail out."""

from __future__ import annotations

import re
import subprocess
import sys
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from benchmarks.announce_rate import measure

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_the_benchmark_sends_every_mail_both_ways_and_prints_the_ratio(tmp_path: Path) -> None:
    results = measure(200, tmp_path)

    assert [r.target for r in results] == ["eml", "smtp"]
    for result in results:
        assert (result.announce_sent, result.bare_sent) == (200, 200)
        assert result.announce_rate > 0 and result.bare_rate > 0
    eml, smtp = (r.line() for r in results)
    for line, where in ((eml, r"\.eml files"), (smtp, "aiosmtpd")):
        rates = rf"announce 200 -> {where}: [\d,]+ msg/s; bare smtplib loop [\d,]+ msg/s"
        assert re.match(rates, line)
        assert re.search(r"ratio \d\.\d\d \(target >= 0\.7\): (met|NOT met)", line)
    assert re.search(r"bare write_bytes loop into \.eml files, no fsync: [\d,]+ msg/s", eml)
    assert len(list((tmp_path / "eml" / "data" / "outbox").glob("notice-*.eml"))) == 200
    assert len(list((tmp_path / "eml" / "bare").glob("bare-*.eml"))) == 200
    # The bare loop sends the same mails: headers that matter and both bodies, per account.
    announced = mails(tmp_path / "eml" / "data" / "outbox", "notice-*.eml")
    bare = mails(tmp_path / "eml" / "bare", "bare-*.eml")
    assert sorted(announced) == sorted(bare) and len(bare) == 200
    for to, message in bare.items():
        twin = announced[to]
        for header in ("From", "Subject", "List-Unsubscribe", "List-Unsubscribe-Post"):
            assert str(message[header]) == str(twin[header]), header
        assert bodies(message) == bodies(twin)


def mails(folder: Path, pattern: str) -> dict[str, EmailMessage]:
    found = {}
    for path in folder.glob(pattern):
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        assert isinstance(message, EmailMessage)
        found[str(message["To"])] = message
    return found


def bodies(message: EmailMessage) -> list[str]:
    return [part.get_content() for part in message.walk() if not part.is_multipart()]


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
