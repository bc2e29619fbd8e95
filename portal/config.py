"""The portal's own settings: limits and the server secret (INTERLINK_PORTAL_* variables)."""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

SECRET_FILE = "portal-secret"


class PortalConfig(BaseSettings):
    """Limits of the public portal; every one can be set as INTERLINK_PORTAL_<NAME>."""

    model_config = SettingsConfigDict(env_prefix="INTERLINK_PORTAL_", extra="ignore")

    #: Signs CSRF tokens. When unset it is read from (or created in) DATA_DIR/portal-secret, so
    #: it survives restarts.
    secret: str | None = Field(default=None, repr=False)
    #: Largest request body accepted, in bytes; more is refused with 413 before parsing.
    max_body_bytes: int = Field(default=16 * 1024, ge=1024)
    #: Token buckets per client address: `burst` requests at once, then one every `every` s.
    submit_burst: int = Field(default=10, ge=1)
    submit_every: float = Field(default=30.0, gt=0)
    confirm_burst: int = Field(default=10, ge=1)
    confirm_every: float = Field(default=30.0, gt=0)
    lookup_burst: int = Field(default=60, ge=1)
    lookup_every: float = Field(default=2.0, gt=0)
    #: Mark the CSRF cookie Secure; None: when the portal's base URL is https.
    secure_cookies: bool | None = None

    def buckets(self) -> dict[str, tuple[int, float]]:
        """Bucket name -> (burst, seconds per new token)."""
        return {
            "submit": (self.submit_burst, self.submit_every),
            "confirm": (self.confirm_burst, self.confirm_every),
            "lookup": (self.lookup_burst, self.lookup_every),
        }


def load_secret(config: PortalConfig, data_dir: Path) -> bytes:
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
