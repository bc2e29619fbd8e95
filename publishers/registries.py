"""The registries configuration: which EPP registry serves which TLD, and how we log in there.

A TOML file (architecture §6, issue 5 part 4)::

    [registries.sandbox]
    tlds = ["com", "net"]              # the TLDs this registry serves
    host = "127.0.0.1"
    port = 7000
    client_id = "interlink"
    password_env = "INTERLINK_SANDBOX_PASSWORD"   # the NAME of the variable holding the password
    ca_file = "{data_dir}/sandbox.db.tls/ca.pem"  # CA that signed the server's certificate
    cert_file = ""                     # optional client certificate and key (PEM)
    key_file = ""
    sessions = 4                       # EPP sessions kept open to this registry
    [registries.sandbox.contacts]      # per role: required | optional | prohibited
    registrant = "required"
    tech = "optional"

    [tlds.uk]                          # optional, per TLD: override the contact policy
    contacts = { admin = "prohibited", tech = "prohibited", billing = "prohibited" }

Paths may start with ``~``, may name ``{data_dir}`` (the settings' data directory) and are
otherwise relative to the configuration file. The password never lives in the file: it is read
from the named environment variable when a session is opened (``password_default`` exists only
for a local sandbox, whose demo password is public anyway).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from domains.errors import InterlinkError
from domains.vocabulary import ContactRole, RegistryContactPolicy
from publishers.epp.session import Endpoint
from publishers.policy import DEFAULT_REGISTRY_POLICY

DEFAULT_FILE = Path(__file__).resolve().with_name("registries.default.toml")
_REGISTRY_KEYS = {
    "tlds",
    "host",
    "port",
    "client_id",
    "password_env",
    "password_default",
    "new_password_env",
    "ca_file",
    "cert_file",
    "key_file",
    "server_hostname",
    "sessions",
    "contacts",
    "connect_timeout",
    "read_timeout",
    "idle_limit",
}
_TLD_KEYS = {"registry", "contacts"}


class RegistryConfigError(InterlinkError):
    """The registries file is missing, not TOML, or a key in it is wrong (the key is named)."""


class UnknownTld(InterlinkError):
    """No registry is configured for a TLD."""


@dataclass(frozen=True, kw_only=True)
class Registry:
    """One EPP registry: where it is, how we log in, and its contact policy per role."""

    name: str
    host: str
    port: int
    client_id: str
    password_env: str
    password_default: str | None = field(default=None, repr=False)
    new_password_env: str | None = None
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    server_hostname: str | None = None
    sessions: int = 2
    contacts: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_REGISTRY_POLICY))
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    idle_limit: float = 300.0

    def password(self) -> str:
        """The login password from the environment variable named by password_env."""
        value = os.environ.get(self.password_env)
        if value:
            return value
        if self.password_default is not None:
            return self.password_default
        raise RegistryConfigError(
            f"registry {self.name!r}: the environment variable {self.password_env} "
            f"(registries.{self.name}.password_env) holding its EPP password is not set"
        )

    def endpoint(self) -> Endpoint:
        """The transport endpoint, with the password read from the environment now."""
        new_password = os.environ.get(self.new_password_env) if self.new_password_env else None
        return Endpoint(
            host=self.host,
            port=self.port,
            client_id=self.client_id,
            password=self.password(),
            new_password=new_password or None,
            ca_file=str(self.ca_file) if self.ca_file else None,
            cert_file=str(self.cert_file) if self.cert_file else None,
            key_file=str(self.key_file) if self.key_file else None,
            server_hostname=self.server_hostname,
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
            idle_limit=self.idle_limit,
        )


@dataclass(frozen=True)
class TldConfig:
    """A TLD: its registry and the contact policy per role that applies to it."""

    tld: str
    registry: Registry
    contacts: Mapping[str, str]


@dataclass(frozen=True)
class RegistryMap:
    """Every configured registry and TLD."""

    registries: Mapping[str, Registry]
    tlds: Mapping[str, TldConfig]
    source: Path | None = None

    def registry_for(self, tld: str) -> Registry:
        """The registry that serves tld (UnknownTld if none)."""
        return self.tld(tld).registry

    def tld(self, tld: str) -> TldConfig:
        """The configuration of one TLD (UnknownTld if none)."""
        key = normalise_tld(tld)
        found = self.tlds.get(key)
        if found is None:
            where = f" in {self.source}" if self.source else ""
            raise UnknownTld(f"no registry is configured for .{key}{where}")
        return found

    def contact_policy(self, tld: str) -> Mapping[str, str]:
        """The contact policy per role of one TLD."""
        return self.tld(tld).contacts

    def __iter__(self) -> Iterator[Registry]:
        return iter(self.registries.values())

    def __contains__(self, tld: object) -> bool:
        return isinstance(tld, str) and normalise_tld(tld) in self.tlds


def normalise_tld(tld: str) -> str:
    """A TLD as the configuration keys it: lower case, no dots around."""
    return tld.strip().strip(".").lower()


def _where(path: Path | None) -> str:
    return f"{path}: " if path else ""


def _fail(path: Path | None, key: str, message: str) -> RegistryConfigError:
    return RegistryConfigError(f"{_where(path)}{key}: {message}")


def _string(path: Path | None, key: str, value: Any, *, required: bool = True) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise _fail(path, key, "is required")
        return None
    if not isinstance(value, str):
        raise _fail(path, key, f"must be a string, not {type(value).__name__}")
    return value.strip()


def _number(
    path: Path | None,
    key: str,
    value: Any,
    default: float,
    *,
    integer: bool,
    low: float,
    high: float,
) -> Any:
    if value is None:
        return default
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or (integer and not isinstance(value, int))
    ):
        kind = "an integer" if integer else "a number"
        raise _fail(path, key, f"must be {kind}, not {value!r}")
    if not low <= value <= high:
        raise _fail(path, key, f"must be between {low:g} and {high:g}, not {value!r}")
    return value


def _file(path: Path | None, key: str, value: Any, data_dir: Path | None) -> Path | None:
    text = _string(path, key, value, required=False)
    if text is None:
        return None
    if "{data_dir}" in text:
        if data_dir is None:
            raise _fail(path, key, "names {data_dir} but no data directory is known")
        text = text.replace("{data_dir}", str(data_dir))
    elif "{" in text:
        raise _fail(path, key, "the only placeholder a path may hold is {data_dir}")
    found = Path(text).expanduser()
    if not found.is_absolute() and path is not None:
        found = path.parent / found
    return found


def _policy(path: Path | None, key: str, value: Any, base: Mapping[str, str]) -> dict[str, str]:
    policy = dict(base)
    if value is None:
        return policy
    if not isinstance(value, dict):
        raise _fail(path, key, "must be a table of role = required|optional|prohibited")
    for role, setting in value.items():
        if role not in tuple(ContactRole):
            raise _fail(path, f"{key}.{role}", f"unknown role; roles are {', '.join(ContactRole)}")
        if setting not in tuple(RegistryContactPolicy):
            raise _fail(
                path,
                f"{key}.{role}",
                f"must be one of {', '.join(RegistryContactPolicy)}, not {setting!r}",
            )
        policy[role] = setting
    return policy


def _unknown(path: Path | None, key: str, table: Mapping[str, Any], allowed: set[str]) -> None:
    extra = sorted(set(table) - allowed)
    if extra:
        raise _fail(
            path, f"{key}.{extra[0]}", f"unknown key; known keys: {', '.join(sorted(allowed))}"
        )


def _registry(
    path: Path | None, name: str, table: Any, data_dir: Path | None
) -> tuple[Registry, list[str]]:
    key = f"registries.{name}"
    if not isinstance(table, dict):
        raise _fail(path, key, "must be a table")
    _unknown(path, key, table, _REGISTRY_KEYS)
    tlds = table.get("tlds", [])
    if not isinstance(tlds, list) or not all(isinstance(t, str) and t.strip() for t in tlds):
        raise _fail(path, f"{key}.tlds", "must be a list of TLD names")
    password_env = _string(path, f"{key}.password_env", table.get("password_env"))
    assert password_env is not None
    if not password_env.replace("_", "").isalnum():
        raise _fail(
            path, f"{key}.password_env", "must be the NAME of an environment variable, not a value"
        )
    registry = Registry(
        name=name,
        host=_string(path, f"{key}.host", table.get("host")) or "",
        port=_number(path, f"{key}.port", table.get("port"), 700, integer=True, low=1, high=65535),
        client_id=_string(path, f"{key}.client_id", table.get("client_id")) or "",
        password_env=password_env,
        password_default=_string(
            path, f"{key}.password_default", table.get("password_default"), required=False
        ),
        new_password_env=_string(
            path, f"{key}.new_password_env", table.get("new_password_env"), required=False
        ),
        ca_file=_file(path, f"{key}.ca_file", table.get("ca_file"), data_dir),
        cert_file=_file(path, f"{key}.cert_file", table.get("cert_file"), data_dir),
        key_file=_file(path, f"{key}.key_file", table.get("key_file"), data_dir),
        server_hostname=_string(
            path, f"{key}.server_hostname", table.get("server_hostname"), required=False
        ),
        sessions=_number(
            path, f"{key}.sessions", table.get("sessions"), 2, integer=True, low=1, high=64
        ),
        contacts=_policy(path, f"{key}.contacts", table.get("contacts"), DEFAULT_REGISTRY_POLICY),
        connect_timeout=float(
            _number(
                path,
                f"{key}.connect_timeout",
                table.get("connect_timeout"),
                10.0,
                integer=False,
                low=0.1,
                high=600,
            )
        ),
        read_timeout=float(
            _number(
                path,
                f"{key}.read_timeout",
                table.get("read_timeout"),
                30.0,
                integer=False,
                low=0.1,
                high=600,
            )
        ),
        idle_limit=float(
            _number(
                path,
                f"{key}.idle_limit",
                table.get("idle_limit"),
                300.0,
                integer=False,
                low=1,
                high=86400,
            )
        ),
    )
    if (registry.cert_file is None) != (registry.key_file is None):
        raise _fail(
            path, f"{key}.cert_file", "a client certificate needs both cert_file and key_file"
        )
    return registry, [normalise_tld(t) for t in tlds]


def parse_registries(
    data: Mapping[str, Any], *, path: Path | None = None, data_dir: Path | None = None
) -> RegistryMap:
    """A RegistryMap from the parsed TOML document (errors name the key)."""
    _unknown(path, "(top level)", data, {"registries", "tlds"})
    tables = data.get("registries")
    if not isinstance(tables, dict) or not tables:
        raise _fail(path, "registries", "at least one [registries.NAME] table is required")
    registries: dict[str, Registry] = {}
    tlds: dict[str, TldConfig] = {}
    for name, table in tables.items():
        registry, served = _registry(path, name, table, data_dir)
        registries[name] = registry
        for tld in served:
            if tld in tlds:
                raise _fail(
                    path,
                    f"registries.{name}.tlds",
                    f".{tld} is already served by registry {tlds[tld].registry.name!r}",
                )
            tlds[tld] = TldConfig(tld, registry, registry.contacts)
    overrides = data.get("tlds", {})
    if not isinstance(overrides, dict):
        raise _fail(path, "tlds", "must be a table of [tlds.TLD] tables")
    for raw, table in overrides.items():
        tld = normalise_tld(raw)
        key = f"tlds.{raw}"
        if not isinstance(table, dict):
            raise _fail(path, key, "must be a table")
        _unknown(path, key, table, _TLD_KEYS)
        registry_name = table.get("registry")
        if registry_name is not None:
            if registry_name not in registries:
                raise _fail(path, f"{key}.registry", f"no registry named {registry_name!r}")
            registry = registries[registry_name]
        elif tld in tlds:
            registry = tlds[tld].registry
        else:
            raise _fail(path, f"{key}.registry", "is required for a TLD no registry lists")
        tlds[tld] = TldConfig(
            tld,
            registry,
            _policy(path, f"{key}.contacts", table.get("contacts"), registry.contacts),
        )
    return RegistryMap(registries=registries, tlds=tlds, source=path)


def load_registries(
    path: str | os.PathLike[str] | None = None, *, data_dir: Path | None = None
) -> RegistryMap:
    """Read the registries file (the packaged default when path is None)."""
    source = Path(path).expanduser() if path is not None else DEFAULT_FILE
    try:
        text = source.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RegistryConfigError(f"registries file {source} does not exist") from None
    except OSError as exc:
        raise RegistryConfigError(f"registries file {source}: {exc.strerror or exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RegistryConfigError(f"{source}: not valid TOML: {exc}") from None
    if data_dir is None:
        from domains.settings import get_settings

        data_dir = get_settings().data_dir
    return parse_registries(data, path=source.resolve(), data_dir=data_dir)
