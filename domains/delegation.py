"""A domain's name servers and their glue: host names checked, hosts under the domain addressed.

A name server under the domain itself (in-bailiwick: ns1.example.com for example.com) cannot be
found without the address the registry publishes for it (glue), so the registry must create that
host with its addresses before the domain may use it: such a host, when it is added, needs at least
one address. A host elsewhere is its own domain's business and takes no addresses here.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from domains.errors import FieldError, ValidationFailed
from domains.validation import host_name

MAX_NAMESERVERS = 13


@dataclass(frozen=True)
class Delegation:
    """Checked name servers, and the addresses of the in-bailiwick hosts they add."""

    nameservers: tuple[str, ...]
    hosts: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


def in_bailiwick(host: str, domain: str) -> bool:
    """Whether `host` is the domain itself or a name under it (both A-labels)."""
    return host == domain or host.endswith("." + domain)


def address(value: Any, field_name: str) -> str:
    """An IPv4 or IPv6 address a name server can be reached at, in its shortest form."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationFailed(FieldError(field_name, "is empty; give an IPv4 or IPv6 address"))
    text = value.strip()
    try:
        parsed = ipaddress.ip_address(text)
    except ValueError:
        raise ValidationFailed(
            FieldError(
                field_name, f"{text!r} is not an IP address (e.g. 192.0.2.1 or 2001:db8::53)"
            )
        ) from None
    for unusable, why in (
        (parsed.is_unspecified, "the unspecified address"),
        (parsed.is_loopback, "a loopback address"),
        (parsed.is_multicast, "a multicast address"),
        (parsed.is_link_local, "a link-local address"),
        (parsed.is_reserved, "a reserved address"),
    ):
        if unusable:
            raise ValidationFailed(
                FieldError(
                    field_name, f"{text} is {why}; a name server needs an address others reach"
                )
            )
    return parsed.compressed


def _hosts(values: Iterable[Any] | str | None, errors: list[FieldError]) -> list[str]:
    if values is None:
        return []
    if isinstance(values, str):
        values = values.replace(",", " ").split()
    hosts: list[str] = []
    for index, value in enumerate(values):
        where = f"nameservers[{index}]"
        try:
            host = host_name(value, where)
        except ValidationFailed as exc:
            errors.extend(exc.errors)
            continue
        if host in hosts:
            errors.append(FieldError(where, f"{host} is given twice"))
            continue
        hosts.append(host)
    if len(hosts) > MAX_NAMESERVERS:
        errors.append(
            FieldError("nameservers", f"has {len(hosts)} hosts; at most {MAX_NAMESERVERS}")
        )
    return hosts


def _addresses(host: str, values: Any, errors: list[FieldError]) -> tuple[str, ...]:
    if isinstance(values, str):
        values = values.replace(",", " ").split()
    found: list[str] = []
    for index, value in enumerate(values or ()):
        try:
            checked = address(value, f"glue[{host}][{index}]")
        except ValidationFailed as exc:
            errors.extend(exc.errors)
            continue
        if checked not in found:
            found.append(checked)
    return tuple(found)


def delegation(
    domain: str,
    nameservers: Iterable[Any] | str | None,
    glue: Mapping[str, Any] | None = None,
    *,
    current: Iterable[str] = (),
) -> Delegation:
    """The name servers of `domain` (an A-label) and the glue of the in-bailiwick ones added
    (not in `current`); every refusal at once, each naming its field."""
    errors: list[FieldError] = []
    hosts = _hosts(nameservers, errors)
    before = set(current)
    given: dict[str, Any] = {}
    for raw, values in (glue or {}).items():
        try:
            given[host_name(raw, f"glue[{raw}]")] = values
        except ValidationFailed as exc:
            errors.extend(exc.errors)
    addressed: dict[str, tuple[str, ...]] = {}
    for host, values in given.items():
        where = f"glue[{host}]"
        if host not in hosts:
            errors.append(FieldError(where, f"{host} is not one of the name servers given"))
        elif not in_bailiwick(host, domain):
            errors.append(
                FieldError(
                    where,
                    f"{host} is not under {domain}: its addresses are kept with its own domain, "
                    "so it takes none here",
                )
            )
        elif host in before:
            errors.append(
                FieldError(
                    where,
                    f"{host} is a name server of {domain} already; its addresses are not "
                    "changed here",
                )
            )
        else:
            addressed[host] = _addresses(host, values, errors)
    for host in hosts:
        if in_bailiwick(host, domain) and host not in before and not addressed.get(host):
            if any(error.field.startswith(f"glue[{host}]") for error in errors):
                continue
            errors.append(
                FieldError(
                    f"glue[{host}]",
                    f"{host} is under {domain} itself, so the registry needs its address (glue): "
                    "give at least one IPv4 or IPv6 address",
                )
            )
    if errors:
        raise ValidationFailed(errors)
    return Delegation(tuple(hosts), {h: addressed[h] for h in hosts if h in addressed})
