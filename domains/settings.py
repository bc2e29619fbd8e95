"""Settings from INTERLINK_* environment variables and an optional TOML file."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import platformdirs
from pydantic import BaseModel, Field
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
    publication_profile: str = "icann-gtld"
    request_expiry_days: int = 7

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
        return (init_settings, env_settings, toml)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
