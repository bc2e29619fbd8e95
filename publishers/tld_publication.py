"""Each TLD's publication from the registries file: its publication keys, checked, and loaded.

A [tlds.TLD] table of the registries file (publishers/registries.py) may hold, besides its
registry and contact policy::

    profile = "cctld-legal-persons"    # its publication profile (publishers/profiles.py)
    rdds = "registry"                  # we run no WHOIS/RDAP for it: only the registry does
    registry_whois = "whois.nic.uk"    # named in our WHOIS answers for its domains
    registry_rdap = "https://rdap.nominet.uk/uk/"  # our RDAP answers redirect there (optional)

A gTLD publishes under icann-gtld (ICANN's Registration Data Policy binds its registrar) and its
registrar runs WHOIS and RDAP for it (2013 RAA): only a ccTLD may name another profile or say
"registry". A ccTLD that names no profile publishes under the settings' `publication_profile`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from pydantic import AnyHttpUrl, TypeAdapter, ValidationError

from domains.errors import InterlinkError
from domains.validation import host_name
from domains.vocabulary import RddsOperator
from publishers.profiles import (
    DEFAULT_PROFILE,
    PROFILES,
    Profile,
    Publications,
    RegistryRdds,
    TldPublication,
    is_gtld,
)

if TYPE_CHECKING:
    from domains.settings import Settings

#: The keys of a [tlds.TLD] table this module reads.
PUBLICATION_KEYS = ("profile", "rdds", "registry_whois", "registry_rdap")
#: Makes the error of one key: (its name, the message) -> the exception to raise.
Fail = Callable[[str, str], Exception]
_HTTP_URL = TypeAdapter(AnyHttpUrl)


def tld_publication(tld: str, table: Mapping[str, str | None], fail: Fail) -> TldPublication | None:
    """The publication keys of a [tlds.TLD] table (PUBLICATION_KEYS, blank ones None), checked:
    a gTLD keeps ICANN's profile and its registrar's RDDS. None when they name neither. `fail`
    makes the error of a key (its name, the message)."""
    profile = table.get("profile")
    if profile is not None and profile not in PROFILES:
        known = ", ".join(sorted(PROFILES))
        raise fail("profile", f"no publication profile {profile!r}; known: {known}")
    if profile not in (None, DEFAULT_PROFILE) and is_gtld(tld):
        raise fail(
            "profile",
            f".{tld} is a gTLD: it publishes under {DEFAULT_PROFILE} (ICANN's Registration "
            "Data Policy binds its registrar); only a ccTLD may name another profile",
        )
    rdds = table.get("rdds") or RddsOperator.REGISTRAR
    if rdds not in tuple(RddsOperator):
        raise fail("rdds", f"must be one of {', '.join(RddsOperator)}, not {rdds!r}")
    if rdds == RddsOperator.REGISTRAR:
        for name in ("registry_whois", "registry_rdap"):
            if table.get(name) is not None:
                raise fail(name, 'is only for a TLD with rdds = "registry"')
        return None if profile is None else TldPublication(tld, profile)
    if is_gtld(tld):
        raise fail(
            "rdds",
            f".{tld} is a gTLD: its registrar must run WHOIS and RDAP for it (2013 RAA); "
            'only a ccTLD may say "registry"',
        )
    whois = table.get("registry_whois")
    if whois is None:
        raise fail(
            "registry_whois",
            'is required with rdds = "registry": the registry\'s WHOIS server, which our '
            "answers name",
        )
    try:
        whois_server = host_name(whois, field="registry_whois")
    except InterlinkError:
        raise fail("registry_whois", f"must be a host name, not {whois!r}") from None
    rdap = table.get("registry_rdap")
    if rdap is not None:
        try:
            rdap = str(_HTTP_URL.validate_python(rdap))
        except ValidationError:
            raise fail(
                "registry_rdap", f"must be an http(s) URL (the registry's RDAP base), not {rdap!r}"
            ) from None
    return TldPublication(tld, profile, RegistryRdds(whois_server, rdap))


def load_publications(settings: Settings) -> Publications:
    """Each TLD's publication from the settings' registries file (a ccTLD that names no profile
    publishes under the settings' `publication_profile`)."""
    from publishers.registries import load_registries  # which imports this module

    registries = load_registries(settings.registries_file, data_dir=settings.data_dir)
    return registries.publications(settings.publication_profile)


def chosen_publications(
    settings: Settings, profile: Publications | Profile | str | None = None
) -> Publications:
    """Each TLD's publication: from the settings' registries file when `profile` is None, else
    the one given (a profile alone: that profile for every TLD)."""
    if profile is None:
        return load_publications(settings)
    if isinstance(profile, Publications):
        return profile
    return Publications.single(profile if isinstance(profile, str) else profile.name)
