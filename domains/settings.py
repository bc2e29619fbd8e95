"""Settings from INTERLINK_* environment variables and an optional TOML file."""

from __future__ import annotations

import os
from email.utils import parseaddr
from functools import lru_cache
from pathlib import Path
from typing import Any

import platformdirs
from pydantic import BaseModel, Field
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

APP_NAME = "interlink"


def default_data_dir() -> Path:
    """The user's data directory for Interlink (created on demand by the callers)."""
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def default_database_url() -> str:
    """A SQLite file in the user's data directory."""
    return f"sqlite:///{default_data_dir() / 'interlink.db'}"


def config_file() -> Path:
    """The TOML settings file: INTERLINK_CONFIG, else the user's config directory."""
    explicit = os.environ.get("INTERLINK_CONFIG")
    if explicit:
        return Path(explicit)
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)) / "interlink.toml"


class HouseContact(BaseModel):
    """Interlink's own contact: the default technical contact of every domain."""

    handle: str = "IL-HOUSE"
    name: str = "Interlink Hostmaster"
    org: str = "Interlink Networks Ltd"
    street: list[str] = ["12 Harbour Road"]
    city: str = "Bristol"
    state: str = "Bristol"
    postal_code: str = "BS1 5TT"
    country: str = "GB"
    voice: str = "+44.1179000000"
    email: str = "hostmaster@interlink.example.net"


class Registrar(BaseModel):
    """The registrar identity shown in WHOIS and RDAP."""

    name: str = "Interlink Networks Ltd"
    iana_id: str = "9999"
    whois_server: str = "whois.interlink.example.net"
    url: str = "https://www.interlink.example.net"
    abuse_email: str = "abuse@interlink.example.net"
    abuse_phone: str = "+44.1179000001"
    contact_form_url: str = "https://www.interlink.example.net/contact-domain-holder"
    rdap_base_url: str = "https://rdap.interlink.example.net"
    terms_url: str = "https://www.interlink.example.net/legal/rdds-terms"


class MailSettings(BaseModel):
    """Outgoing mail: an SMTP relay, or (no relay) .eml files in an outbox folder."""

    smtp_host: str | None = None
    smtp_port: int = 587
    starttls: bool = True
    username: str | None = None
    # The password is never kept in settings files: it is read from this environment variable.
    password_env: str = "INTERLINK_SMTP_PASSWORD"
    from_address: str = "Interlink Domains <domains@interlink.example.net>"
    # The mailto: address of marketing mail's List-Unsubscribe header (RFC 2369); None means
    # unsubscribe@ the domain of `from_address`. Its mailbox is read by
    # `interlink mail unsubscribe-inbox`.
    unsubscribe_address: str | None = None
    # Where .eml files go when no relay is configured; None means data_dir / "outbox".
    outbox_dir: Path | None = None
    # Extra attempts after the first on a transient failure, with exponential back-off.
    retries: int = 3
    retry_wait: float = 1.0
    retry_wait_max: float = 30.0
    timeout: float = 10.0
    # Notices: how many one delivery pass claims at a time (a pass drains every batch due), and
    # the back-off between passes for a notice that met a transient error (database, network,
    # SMTP 4xx); after `notice_give_up_hours` of transient errors a notice is marked failed.
    notice_batch: int = 100
    notice_retry_wait: float = 60.0
    notice_retry_wait_max: float = 3600.0
    notice_give_up_hours: float = 120.0

    def password(self) -> str | None:
        """The relay password from the environment variable named by `password_env`."""
        return os.environ.get(self.password_env) if self.password_env else None

    def unsubscribe_mailbox(self) -> str:
        """The address unsubscribe mail goes to: the setting, else unsubscribe@ the From domain."""
        if self.unsubscribe_address:
            return self.unsubscribe_address.strip()
        domain = parseaddr(self.from_address)[1].rpartition("@")[2] or "localhost"
        return f"unsubscribe@{domain}"


class DnsSettings(BaseModel):
    """Live DNS look-ups: resolver addresses (None: the system's), port and timeout."""

    resolvers: list[str] | None = None
    port: int = 53
    timeout: float = 3.0


class RateLimitSettings(BaseModel):
    """Token buckets of the public services: per client address and per /24 (IPv4) or /48.

    With N server processes (`serve.processes`) each keeps its own buckets with rate/N and
    burst/N (at least 1): a client gets at most the configured limit in all, and as little as
    1/N of it when all its connections land on one process (the kernel spreads connections over
    the processes by their source ports).
    """

    per_address_rate: float = 5.0
    per_address_burst: float = 30.0
    per_network_rate: float = 20.0
    per_network_burst: float = 120.0
    # Addresses or networks (CIDR) never limited, e.g. a monitoring host.
    allow_list: list[str] = []
    # At most this many buckets are remembered (memory stays bounded).
    max_tracked: int = 100_000


class ServeSettings(BaseModel):
    """`interlink serve`: where WHOIS and HTTP (RDAP + portal) listen, and their limits."""

    host: str = "127.0.0.1"
    whois_port: int = 4343
    http_port: int = 8080
    rate_limit: RateLimitSettings = RateLimitSettings()
    whois_max_connections: int = 256
    whois_read_timeout: float = 10.0
    whois_max_query: int = 512
    # Rendered answers kept per service (bytes); every answer is still checked against the store.
    answer_cache_bytes: int = 16 * 1024 * 1024
    lookup_threads: int = 4
    # Answer from, and keep complete, every domain's answers rendered ahead
    # (publishers/published.py); off: every answer is rendered when asked.
    publish_answers: bool = True
    publish_interval: float = 5.0
    http_max_connections: int = 1000
    http_timeout_keep_alive: float = 5.0
    # Per client: connections one address, and one /24 (IPv4) or /48 (IPv6), may hold at once;
    # a connection over the cap is closed at once. A connection that has not sent a complete
    # request head (HTTP) within `http_head_timeout` seconds is closed. With N processes each
    # process counts its own connections against cap/N (at least 1): a client holds at most the
    # cap in all, and as few as cap/N when all its connections land on one process.
    http_max_connections_per_address: int = 32
    http_max_connections_per_network: int = 128
    http_head_timeout: float = 5.0
    whois_max_connections_per_address: int = 8
    whois_max_connections_per_network: int = 32
    # Server processes on the same ports (SO_REUSEPORT, Linux); 0: one per core (one where
    # SO_REUSEPORT is missing). Over 1, every per-client limit (rate_limit, the connection caps,
    # the portal's buckets) is divided among them, see RateLimitSettings; the other limits
    # (whois_max_connections, http_max_connections, lookup_threads, the caches) are per process.
    processes: int = Field(default=0, ge=0, le=256)
    # Where the public lookups read (a PostgreSQL replica of the store); empty: the store's URL.
    # Writes, publishing and the invalidation notices stay on the primary.
    read_database_url: str = ""
    # Connections of each server process's pool of lookups on PostgreSQL.
    lookup_pool_size: int = Field(default=4, ge=1, le=64)


class SyncSettings(BaseModel):
    """`interlink sync`: riding out a database that is briefly unreachable."""

    # A transient database error (a dropped connection, a restart) is retried with back-off
    # from `database_retry_wait` up to `database_retry_wait_max` seconds; the worker gives up,
    # saying so, only when the database stays unreachable for `database_outage_limit` seconds.
    database_retry_wait: float = 0.5
    database_retry_wait_max: float = 15.0
    database_outage_limit: float = 300.0


class PortalSettings(BaseModel):
    """Limits of the public portal and its server secret (`[portal]`, INTERLINK_PORTAL__<NAME>;
    the older INTERLINK_PORTAL_<NAME> is read too)."""

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
    #: Sign-in links asked for, per client address and per account (mail to one inbox).
    signin_burst: int = Field(default=10, ge=1)
    signin_every: float = Field(default=60.0, gt=0)
    signin_account_burst: int = Field(default=3, ge=1)
    signin_account_every: float = Field(default=300.0, gt=0)
    #: Changes a signed-in customer makes in the control panel and the API, per client.
    panel_burst: int = Field(default=30, ge=1)
    panel_every: float = Field(default=2.0, gt=0)
    #: Mark the CSRF cookie Secure; None: when the portal's base URL is https.
    secure_cookies: bool | None = None

    def buckets(self) -> dict[str, tuple[int, float]]:
        """Bucket name -> (burst, seconds per new token)."""
        return {
            "submit": (self.submit_burst, self.submit_every),
            "confirm": (self.confirm_burst, self.confirm_every),
            "lookup": (self.lookup_burst, self.lookup_every),
            "signin": (self.signin_burst, self.signin_every),
            "signin_account": (self.signin_account_burst, self.signin_account_every),
            "panel": (self.panel_burst, self.panel_every),
        }


class DisclosureSettings(BaseModel):
    """Requests for customers' non-public data (`[disclosures]`): the calendar of business days
    their deadlines count in, links and attachments."""

    #: The country (ISO 3166-1 alpha-2) whose public holidays are not business days, for the
    #: `holidays` package, and optionally its subdivision (e.g. "ENG" of GB, "BY" of DE).
    holiday_country: str = "GB"
    holiday_subdivision: str | None = "ENG"
    #: The days of the week that are not business days (Monday 0 ... Sunday 6).
    weekend_days: list[int] = Field(default=[5, 6])
    #: The time zone in which a business day starts and ends.
    time_zone: str = "Europe/London"
    #: Regular requests: acknowledged within so many business days, answered within so many
    #: calendar days; urgent ones answered within so many hours.
    acknowledge_business_days: int = Field(default=2, ge=1)
    answer_days: int = Field(default=30, ge=1)
    urgent_answer_hours: int = Field(default=24, ge=1)
    #: How long the requestor's e-mail verification link and the download link work.
    verify_link_hours: int = Field(default=48, ge=1)
    download_link_hours: int = Field(default=7 * 24, ge=1)
    #: The largest attachment accepted (a PDF or image of the order), in bytes.
    max_attachment_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)


class _PortalEnvOfOld(PydanticBaseSettingsSource):
    """INTERLINK_PORTAL_<NAME> (one underscore: the portal's own names before its settings
    joined these) as the `portal` section; INTERLINK_PORTAL__<NAME> wins over it."""

    PREFIX = "interlink_portal_"

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        found = {}
        for key, value in os.environ.items():
            name = key.lower().removeprefix(self.PREFIX)
            if key.lower().startswith(self.PREFIX) and name in PortalSettings.model_fields:
                found[name] = value
        return {"portal": found} if found else {}


class Settings(BaseSettings):
    """Every setting of the product; nested ones take INTERLINK_REGISTRAR__NAME and so on."""

    model_config = SettingsConfigDict(
        env_prefix="INTERLINK_", env_nested_delimiter="__", extra="ignore"
    )

    database_url: str = Field(default_factory=default_database_url)
    data_dir: Path = Field(default_factory=default_data_dir)
    sqlite_busy_timeout_ms: int = 10_000
    house: HouseContact = HouseContact()
    registrar: Registrar = Registrar()
    # The publication profile of a ccTLD whose table in the registries file names none (a gTLD
    # always publishes under icann-gtld; publishers/profiles.py, publishers/registries.py).
    publication_profile: str = "icann-gtld"
    request_expiry_days: int = 7
    mail: MailSettings = MailSettings()
    dns: DnsSettings = DnsSettings()
    portal_base_url: str = "http://127.0.0.1:8080"
    portal: PortalSettings = PortalSettings()
    serve: ServeSettings = ServeSettings()
    sync: SyncSettings = SyncSettings()
    disclosures: DisclosureSettings = DisclosureSettings()
    # The registries file (publishers/registries.py); None: the packaged default (the sandbox).
    registries_file: Path | None = None

    def outbox_dir(self) -> Path:
        """The folder for .eml files when no SMTP relay is configured."""
        return self.mail.outbox_dir or self.data_dir / "outbox"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Arguments beat the environment, which beats the TOML file."""
        toml = TomlConfigSettingsSource(settings_cls, toml_file=config_file())
        return (init_settings, env_settings, _PortalEnvOfOld(settings_cls), toml)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
