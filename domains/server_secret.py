"""The server secret (setting `portal.secret`, else kept in the data directory) and its keys."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import tempfile
from pathlib import Path

from domains.settings import PortalSettings

SECRET_FILE = "portal-secret"


def load_secret(config: PortalSettings, data_dir: Path) -> bytes:
    """The configured secret, else the one kept in the data directory (made on first use)."""
    if config.secret:
        return config.secret.encode("utf-8")
    path = data_dir / SECRET_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=data_dir, prefix=".portal-secret.")
        try:
            with os.fdopen(fd, "w", encoding="ascii") as handle:
                handle.write(secrets.token_hex(32) + "\n")
            os.link(tmp, path)  # atomic, and never replaces a secret another process made
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
    try:
        value = bytes.fromhex(path.read_text(encoding="ascii").strip())
    except ValueError:
        value = b""
    if len(value) < 16:
        raise ValueError(f"{path} does not hold a portal secret (64 hex digits); remove it")
    return value


def derive_key(secret: bytes, purpose: str) -> bytes:
    """A key for one purpose, so one secret never signs two kinds of thing."""
    return hmac.new(secret, purpose.encode("ascii"), hashlib.sha256).digest()
