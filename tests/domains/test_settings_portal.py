"""The portal's settings are the `portal` section of the one settings tree: TOML and
environment alike, with the portal's older INTERLINK_PORTAL_<NAME> variables still read."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from domains.settings import PortalSettings, Settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for key in list(os.environ):
        if key.upper().startswith("INTERLINK_"):
            monkeypatch.delenv(key)
    config = tmp_path / "interlink.toml"
    monkeypatch.setenv("INTERLINK_CONFIG", str(config))
    return config


def test_the_defaults_are_the_portals(clean_environment: Path) -> None:
    assert Settings().portal == PortalSettings()
    assert Settings().portal.buckets()["lookup"] == (60, 2.0)


def test_a_toml_section(clean_environment: Path) -> None:
    clean_environment.write_text('[portal]\nsubmit_burst = 3\nsecret = "from-the-file"\n')
    portal = Settings().portal
    assert (portal.submit_burst, portal.secret) == (3, "from-the-file")


def test_nested_and_older_environment_names(
    clean_environment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clean_environment.write_text("[portal]\nsubmit_burst = 3\nconfirm_burst = 4\n")
    monkeypatch.setenv("INTERLINK_PORTAL_SUBMIT_BURST", "5")  # the older name beats the file
    monkeypatch.setenv("INTERLINK_PORTAL_SECRET", "older")
    monkeypatch.setenv("INTERLINK_PORTAL__SECRET", "nested")  # the nested name beats the older
    monkeypatch.setenv("INTERLINK_PORTAL_BASE_URL", "https://portal.example")  # not the portal's
    settings = Settings()
    assert settings.portal.submit_burst == 5
    assert settings.portal.confirm_burst == 4
    assert settings.portal.secret == "nested"
    assert settings.portal_base_url == "https://portal.example"
    assert Settings(portal=PortalSettings(secret="given")).portal.secret == "given"


def test_a_bad_value_names_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTERLINK_PORTAL_MAX_BODY_BYTES", "10")
    with pytest.raises(ValueError, match=r"portal\.max_body_bytes"):
        Settings()
