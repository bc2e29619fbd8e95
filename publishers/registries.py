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
    commands_per_second = 10           # the most the drift check (sync --reconcile) sends
    [registries.sandbox.contact_passwords]  # optional: the registry's rule for contact passwords
    min_length = 8                     # (these are the defaults, the common rule)
    max_length = 16
    require = ["letter", "digit", "symbol"]   # also "lower", "upper"
    symbols = "!#$%*+-.=?@^_~"         # the symbols it accepts
    [registries.sandbox.contacts]      # per role: required | optional | prohibited
    registrant = "required"
    tech = "optional"

    [tlds.uk]                          # optional, per TLD: override the contact policy
    contacts = { admin = "prohibited", tech = "prohibited", billing = "prohibited" }
    profile = "cctld-legal-persons"    # its publication profile (publishers/profiles.py)
    rdds = "registry"                  # we run no WHOIS/RDAP for .uk: the registry's do
    registry_whois = "whois.nic.uk"    # named in our WHOIS answers for .uk domains
    registry_rdap = "https://rdap.nominet.uk/uk/"  # our RDAP answers redirect there (optional)

The publication keys (profile, rdds, registry_whois, registry_rdap) are read and checked by
publishers/tld_publication.py: a gTLD publishes under `icann-gtld` with the registrar's RDDS;
only a ccTLD may name another profile or say `"registry"`.

Paths may start with ``~``, may name ``{data_dir}`` (the settings' data directory) and are
otherwise relative to the configuration file. The password never lives in the file: it is read
from the named environment variable when a session is opened (``password_default`` exists only
for a local sandbox, whose demo password is public anyway). With cert_file and key_file the
transport presents that client certificate (mutual TLS, as many registries require).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictStr,
    ValidationError,
)

from domains.errors import InterlinkError
from domains.vocabulary import ContactRole, RegistryContactPolicy
from publishers.epp.session import Endpoint
from publishers.passwords import DEFAULT_RULE, PasswordRule, PasswordRuleError
from publishers.policy import DEFAULT_REGISTRY_POLICY
from publishers.profiles import DEFAULT_PROFILE, Publications, TldPublication
from publishers.tld_publication import PUBLICATION_KEYS, tld_publication

DEFAULT_FILE = Path(__file__).resolve().with_name("registries.default.toml")


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
    commands_per_second: float = 10.0
    """The registry's limit on commands per second (per client): the drift check keeps to it."""
    contact_passwords: PasswordRule = DEFAULT_RULE
    """The registry's rule for the passwords (authInfo) of the contacts we create there."""

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
    """A TLD: its registry, the contact policy per role that applies to it, its publication."""

    tld: str
    registry: Registry
    contacts: Mapping[str, str]
    publication: TldPublication | None = None
    """None: the default profile and the registrar's RDDS (`Publications.for_tld`)."""


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

    def publications(self, default: str = DEFAULT_PROFILE) -> Publications:
        """Each configured TLD's publication; `default` is the profile of a ccTLD that names
        none (a gTLD's is always icann-gtld)."""
        return Publications(
            {tld: c.publication for tld, c in self.tlds.items() if c.publication is not None},
            default,
        )

    def __iter__(self) -> Iterator[Registry]:
        return iter(self.registries.values())

    def __contains__(self, tld: object) -> bool:
        return isinstance(tld, str) and normalise_tld(tld) in self.tlds


def normalise_tld(tld: str) -> str:
    """A TLD as the configuration keys it: lower case, no dots around."""
    return tld.strip().strip(".").lower()


def _line_of(text: str | None, key: str) -> int | None:
    """The line (from 1) of `key` ("registries.x.port") in the TOML `text`, found by scanning it
    (tomllib keeps no positions): the key's own line, else its table's or its nearest parent's."""
    if not text:
        return None
    found: dict[str, int] = {}
    table = ""
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if line.startswith("["):
            table = line.strip("[] ").replace('"', "").replace("'", "")
            found.setdefault(table, number)
        elif "=" in line and not line.startswith("#"):
            name = line.split("=", 1)[0].strip().strip("\"'")
            found.setdefault(f"{table}.{name}" if table else name, number)
    parts = key.split(".")
    while parts:
        if ".".join(parts) in found:
            return found[".".join(parts)]
        parts.pop()
    return None


class _Where:
    """Where an error is: the file and its text, so that each error names the key's line."""

    def __init__(self, path: Path | None, text: str | None) -> None:
        self.path = path
        self.text = text

    def fail(self, key: str, message: str) -> RegistryConfigError:
        line = _line_of(self.text, key)
        if self.path is None:
            return RegistryConfigError(f"{key}: {message}")
        at = f":{line}" if line else ""
        return RegistryConfigError(f"{self.path}{at}: {key}: {message}")


def _text(value: Any) -> Any:
    """Strings are stripped and a blank one is no value; anything else is for the type to judge."""
    if isinstance(value, str):
        return value.strip() or None
    return value


def _integer(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"must be an integer, not {value!r}")
    return value


def _number(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"must be a number, not {value!r}")
    return value


def _between(low: float, high: float) -> AfterValidator:
    def check(value: float) -> float:
        if not low <= value <= high:
            raise ValueError(f"must be between {low:g} and {high:g}, not {value!r}")
        return value

    return AfterValidator(check)


def _variable_name(value: str) -> str:
    if not value.replace("_", "").isalnum():
        raise ValueError("must be the NAME of an environment variable, not a value")
    return value


def _tld_names(value: Any) -> Any:
    if not isinstance(value, list) or not all(isinstance(t, str) and t.strip() for t in value):
        raise ValueError("must be a list of TLD names")
    return value


def _policy_table(value: Any) -> Any:
    if value is not None and not isinstance(value, dict):
        raise ValueError("must be a table of role = required|optional|prohibited")
    return value


def _some_tables(value: Any) -> Any:
    if not isinstance(value, dict) or not value:
        raise ValueError("at least one [registries.NAME] table is required")
    return value


def _tables(value: Any) -> Any:
    if not isinstance(value, dict):
        raise ValueError("must be a table of [tlds.TLD] tables")
    return value


_Text = Annotated[StrictStr, BeforeValidator(_text)]
_OptionalText = Annotated[StrictStr | None, BeforeValidator(_text)]
_Policy = Annotated[dict[str, Any] | None, BeforeValidator(_policy_table)]
_STRICT = ConfigDict(extra="forbid")


def _symbols(value: Any) -> Any:
    if not isinstance(value, str):
        raise ValueError(f"must be a string of symbols, not {type(value).__name__}")
    return value


def _kind_names(value: Any) -> Any:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError("must be a list of kinds of character (letter, digit, symbol...)")
    return value


class _PasswordTable(BaseModel):
    """A [registries.NAME.contact_passwords] table as written (the rule is checked after)."""

    model_config = _STRICT

    min_length: Annotated[int, BeforeValidator(_integer)] = DEFAULT_RULE.min_length
    max_length: Annotated[int, BeforeValidator(_integer)] = DEFAULT_RULE.max_length
    require: Annotated[list[str], BeforeValidator(_kind_names)] = list(DEFAULT_RULE.required)
    symbols: Annotated[str, BeforeValidator(_symbols)] = DEFAULT_RULE.symbols


class _RegistryTable(BaseModel):
    """A [registries.NAME] table as written (paths and contact roles are checked after)."""

    model_config = _STRICT

    tlds: Annotated[list[str], BeforeValidator(_tld_names)] = []
    host: _Text
    port: Annotated[int, BeforeValidator(_integer), _between(1, 65535)] = 700
    client_id: _Text
    password_env: Annotated[_Text, AfterValidator(_variable_name)]
    password_default: _OptionalText = None
    new_password_env: _OptionalText = None
    ca_file: _OptionalText = None
    cert_file: _OptionalText = None
    key_file: _OptionalText = None
    server_hostname: _OptionalText = None
    sessions: Annotated[int, BeforeValidator(_integer), _between(1, 64)] = 2
    contacts: _Policy = None
    connect_timeout: Annotated[float, BeforeValidator(_number), _between(0.1, 600)] = 10.0
    read_timeout: Annotated[float, BeforeValidator(_number), _between(0.1, 600)] = 30.0
    idle_limit: Annotated[float, BeforeValidator(_number), _between(1, 86400)] = 300.0
    commands_per_second: Annotated[float, BeforeValidator(_number), _between(0.01, 100000)] = 10.0
    contact_passwords: _PasswordTable | None = None


class _TldTable(BaseModel):
    """A [tlds.TLD] table as written."""

    model_config = _STRICT

    registry: _OptionalText = None
    contacts: _Policy = None
    profile: _OptionalText = None
    rdds: _OptionalText = None
    registry_whois: _OptionalText = None
    registry_rdap: _OptionalText = None


class _RegistriesFile(BaseModel):
    """The whole registries file as written."""

    model_config = _STRICT

    registries: Annotated[dict[str, _RegistryTable], BeforeValidator(_some_tables)] = Field(
        default_factory=dict, validate_default=True
    )
    tlds: Annotated[dict[str, _TldTable], BeforeValidator(_tables)] = {}


def _first_error(error: ValidationError, where: _Where) -> RegistryConfigError:
    """The first error pydantic found, in the product's words, with its key and line."""
    first = error.errors()[0]
    loc = [str(part) for part in first["loc"]]
    kind, value = first["type"], first.get("input")
    if kind == "extra_forbidden":
        model: type[BaseModel] = _RegistriesFile
        if len(loc) == 3:
            model = _RegistryTable if loc[0] == "registries" else _TldTable
        elif len(loc) == 4 and loc[2] == "contact_passwords":
            model = _PasswordTable
        known = ", ".join(sorted(model.model_fields))
        key = ".".join(loc) if len(loc) > 1 else f"(top level).{loc[0]}"
        return where.fail(key, f"unknown key; known keys: {known}")
    if kind == "value_error":
        message = str(first["ctx"]["error"])
    elif kind == "missing" or value is None:
        message = "is required"
    elif kind == "model_type":
        message = "must be a table"
    elif kind == "string_type":
        message = f"must be a string, not {type(value).__name__}"
    else:
        message = first["msg"]
    return where.fail(".".join(loc), message)


def _file(where: _Where, key: str, text: str | None, data_dir: Path | None) -> Path | None:
    if text is None:
        return None
    if "{data_dir}" in text:
        if data_dir is None:
            raise where.fail(key, "names {data_dir} but no data directory is known")
        text = text.replace("{data_dir}", str(data_dir))
    elif "{" in text:
        raise where.fail(key, "the only placeholder a path may hold is {data_dir}")
    found = Path(text).expanduser()
    if not found.is_absolute() and where.path is not None:
        found = where.path.parent / found
    return found


def _policy(
    where: _Where, key: str, value: Mapping[str, Any] | None, base: Mapping[str, str]
) -> dict[str, str]:
    policy = dict(base)
    for role, setting in (value or {}).items():
        if role not in tuple(ContactRole):
            raise where.fail(f"{key}.{role}", f"unknown role; roles are {', '.join(ContactRole)}")
        if setting not in tuple(RegistryContactPolicy):
            raise where.fail(
                f"{key}.{role}",
                f"must be one of {', '.join(RegistryContactPolicy)}, not {setting!r}",
            )
        policy[role] = setting
    return policy


def _password_rule(where: _Where, key: str, table: _PasswordTable | None) -> PasswordRule:
    if table is None:
        return DEFAULT_RULE
    try:
        return PasswordRule(
            min_length=table.min_length,
            max_length=table.max_length,
            required=tuple(table.require),  # type: ignore[arg-type]  # checked by the rule
            symbols=table.symbols,
        )
    except PasswordRuleError as exc:
        raise where.fail(f"{key}.{exc.key}", exc.message) from None


def _registry(
    where: _Where, name: str, table: _RegistryTable, data_dir: Path | None
) -> tuple[Registry, list[str]]:
    key = f"registries.{name}"
    registry = Registry(
        name=name,
        host=table.host,
        port=table.port,
        client_id=table.client_id,
        password_env=table.password_env,
        password_default=table.password_default,
        new_password_env=table.new_password_env,
        ca_file=_file(where, f"{key}.ca_file", table.ca_file, data_dir),
        cert_file=_file(where, f"{key}.cert_file", table.cert_file, data_dir),
        key_file=_file(where, f"{key}.key_file", table.key_file, data_dir),
        server_hostname=table.server_hostname,
        sessions=table.sessions,
        contacts=_policy(where, f"{key}.contacts", table.contacts, DEFAULT_REGISTRY_POLICY),
        connect_timeout=float(table.connect_timeout),
        read_timeout=float(table.read_timeout),
        idle_limit=float(table.idle_limit),
        commands_per_second=float(table.commands_per_second),
        contact_passwords=_password_rule(
            where, f"{key}.contact_passwords", table.contact_passwords
        ),
    )
    if (registry.cert_file is None) != (registry.key_file is None):
        raise where.fail(
            f"{key}.cert_file", "a client certificate needs both cert_file and key_file"
        )
    return registry, [normalise_tld(t) for t in table.tlds]


def _failing(where: _Where, table: str) -> Callable[[str, str], RegistryConfigError]:
    """The error of a key of `table`, with its line."""
    return lambda name, message: where.fail(f"{table}.{name}", message)


def parse_registries(
    data: Mapping[str, Any],
    *,
    path: Path | None = None,
    data_dir: Path | None = None,
    text: str | None = None,
) -> RegistryMap:
    """A RegistryMap from the parsed TOML document; errors name the key, and its line when the
    file's `text` is given."""
    where = _Where(path, text)
    try:
        document = _RegistriesFile.model_validate(data)
    except ValidationError as exc:
        raise _first_error(exc, where) from None
    registries: dict[str, Registry] = {}
    tlds: dict[str, TldConfig] = {}
    for name, table in document.registries.items():
        registry, served = _registry(where, name, table, data_dir)
        registries[name] = registry
        for tld in served:
            if tld in tlds:
                raise where.fail(
                    f"registries.{name}.tlds",
                    f".{tld} is already served by registry {tlds[tld].registry.name!r}",
                )
            tlds[tld] = TldConfig(tld, registry, registry.contacts)
    for raw, override in document.tlds.items():
        tld = normalise_tld(raw)
        key = f"tlds.{raw}"
        if override.registry is not None:
            if override.registry not in registries:
                raise where.fail(f"{key}.registry", f"no registry named {override.registry!r}")
            registry = registries[override.registry]
        elif tld in tlds:
            registry = tlds[tld].registry
        else:
            raise where.fail(f"{key}.registry", "is required for a TLD no registry lists")
        tlds[tld] = TldConfig(
            tld,
            registry,
            _policy(where, f"{key}.contacts", override.contacts, registry.contacts),
            tld_publication(
                tld, override.model_dump(include=set(PUBLICATION_KEYS)), _failing(where, key)
            ),
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
    return parse_registries(data, path=source.resolve(), data_dir=data_dir, text=text)
