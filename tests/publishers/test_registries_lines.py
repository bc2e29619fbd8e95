"""Errors of the registries file name the key and its line (publishers/registries.py), the
publication keys of a TLD (profile, rdds, registry_whois, registry_rdap) too."""

from __future__ import annotations

import pytest

from publishers.registries import RegistryConfigError, load_registries

GOOD = "[registries.x]\nhost = 'h'\nclient_id = 'c'\npassword_env = 'P'\n"
#: A registry serving .se, and the head of the .se table (line 6).
SE = GOOD + "tlds = ['se']\n[tlds.se]\n"


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
        # publication: the profile and RDDS of each TLD
        (
            SE + "profile = 'gdpr-max'\n",
            ":7: tlds.se.profile: no publication profile 'gdpr-max'; "
            "known: cctld-legal-persons, icann-gtld",
        ),
        (
            GOOD + "tlds = ['com']\n[tlds.com]\n\nprofile = 'cctld-legal-persons'\n",
            ":8: tlds.com.profile: .com is a gTLD: it publishes under icann-gtld",
        ),
        (SE + "rdds = 'nobody'\n", ":7: tlds.se.rdds: must be one of registrar, registry,"),
        (
            GOOD + "tlds = ['shop']\n[tlds.shop]\nrdds = 'registry'\n",
            ":7: tlds.shop.rdds: .shop is a gTLD: its registrar must run WHOIS and RDAP",
        ),
        (SE + "rdds = 'registry'\n", ":6: tlds.se.registry_whois: is required with rdds"),
        (
            SE + "registry_whois = 'whois.iis.example'\n",
            ':7: tlds.se.registry_whois: is only for a TLD with rdds = "registry"',
        ),
        (
            SE + "rdds = 'registry'\nregistry_whois = 'no such host'\n",
            ":8: tlds.se.registry_whois: must be a host name, not 'no such host'",
        ),
        (
            SE + "rdds = 'registry'\nregistry_whois = 'whois.iis.example'\n"
            "registry_rdap = 'ftp://rdap.iis.example/'\n",
            ":9: tlds.se.registry_rdap: must be an http(s) URL",
        ),
    ],
)
def test_an_error_names_the_key_and_its_line(tmp_path, text: str, where: str) -> None:
    path = tmp_path / "registries.toml"
    path.write_text(text)
    with pytest.raises(RegistryConfigError) as caught:
        load_registries(path, data_dir=tmp_path)
    assert str(caught.value).startswith(f"{path.resolve()}{where}")
