"""The live public WHOIS of a domain, fetched with python-whois through Debian's whois client."""

from __future__ import annotations

import shutil
import subprocess
import time
from dataclasses import dataclass, field
from typing import Any

from rich.markup import escape
from whois.parser import WhoisEntry

from tui.context import PublicWhois

#: Fields staff want to compare with the stored record.
SHOWN = ("domain_name", "registrar", "creation_date", "expiration_date", "status", "name_servers")


@dataclass(frozen=True)
class WhoisResult:
    """What the public WHOIS answered, or why it could not be asked."""

    fields: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    elapsed_ms: float = 0.0

    def summary(self) -> str:
        """A few lines for the Domain screen."""
        if self.error:
            return f"[b]Public WHOIS[/]: [red]{escape(self.error)}[/]"
        lines = [f"[b]Public WHOIS[/] ({self.elapsed_ms:.0f} ms):"]
        for key in SHOWN:
            value = self.fields.get(key)
            if isinstance(value, list):
                value = ", ".join(str(v) for v in value)
            shown = "-" if value in (None, "") else escape(str(value))
            lines.append(f"  {key.replace('_', ' ')}: {shown}")
        # What a public WHOIS server says is anyone's text: never markup.
        lines.append(f"  registrant name: {escape(str(self.fields.get('name') or '-'))}")
        return "\n".join(lines)


def live_whois(name: str, server: PublicWhois) -> WhoisResult:
    """Ask the public WHOIS server for `name`; never raises."""
    if shutil.which("whois") is None:
        return WhoisResult(error="the whois client is not installed (apt-get install whois)")
    started = time.perf_counter()
    try:
        # python-whois's own client always dials port 43 and its command mode has no timeout,
        # so Debian's whois client fetches (with a timeout) and python-whois parses.
        answer = subprocess.run(
            ["whois", "-h", server.host, "-p", str(server.port), name],
            capture_output=True,
            timeout=server.timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return WhoisResult(error=f"no answer within {server.timeout:.0f} s")
    text = answer.stdout.decode("utf-8", errors="replace")
    if answer.returncode != 0 and not text.strip():
        reason = answer.stderr.decode("utf-8", errors="replace").strip()[:200]
        return WhoisResult(error=f"the public WHOIS could not be reached: {reason}")
    try:
        entry = WhoisEntry.load(name, text)
    except Exception as exc:  # python-whois raises bare Exceptions for "no match" and friends
        return WhoisResult(error=f"the public WHOIS gave no record: {str(exc).strip()[:200]}")
    elapsed = (time.perf_counter() - started) * 1000
    fields = {key: entry.get(key) for key in (*SHOWN, "name")}
    if not fields.get("domain_name"):
        return WhoisResult(error="the public WHOIS has no record of it", elapsed_ms=elapsed)
    return WhoisResult(fields=fields, elapsed_ms=elapsed)
