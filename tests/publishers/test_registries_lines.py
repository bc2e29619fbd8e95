"""Errors of the registries file name the key and its line (publishers/registries.py)."""

from __future__ import annotations

import pytest

from publishers.registries import RegistryConfigError, load_registries

GOOD = "[registries.x]\nhost = 'h'\nclient_id = 'c'\npassword_env = 'P'\n"


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (GOOD + "port = '700'\n", ":5: registries.x.port: must be an integer, not '700'"),
        (GOOD + "\n# a comment\nsessions = 0\n", ":7: registries.x.sessions: must be between 1"),
        (GOOD + "[registries.x.contacts]\ntech = 'maybe'\n", ":6: registries.x.contacts.tech:"),
        (GOOD + "contacts = { owner = 'required' }\n", ":5: registries.x.contacts.owner:"),
        ("[registries.x]\nhost = 'h'\nclient_id = 'c'\n", ":1: registries.x.password_env: is"),
        (GOOD + "hots = 'typo'\n", ":5: registries.x.hots: unknown key; known keys: ca_file,"),
        (GOOD + "[tlds.fr]\n", ":5: tlds.fr.registry: is required for a TLD no registry lists"),
        (GOOD + '[tlds."co.uk"]\nregistry = "y"\n', ":6: tlds.co.uk.registry: no registry"),
    ],
)
def test_an_error_names_the_key_and_its_line(tmp_path, text: str, where: str) -> None:
    path = tmp_path / "registries.toml"
    path.write_text(text)
    with pytest.raises(RegistryConfigError) as caught:
        load_registries(path, data_dir=tmp_path)
    assert str(caught.value).startswith(f"{path.resolve()}{where}")
