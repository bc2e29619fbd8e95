"""Ask a domain's registry over EPP what it holds (domain:info, contact:info) and compare."""

from __future__ import annotations

import logging
import ssl
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from domains import validation
from domains.errors import InterlinkError, NotFound
from domains.store import Store
from publishers.epp.client.commands import contact_info, domain_info, new_cltrid
from publishers.epp.model import ContactInfo, DomainInfo, Response
from publishers.epp.session import (
    ClientCertificateRefused,
    EppCommandError,
    EppSession,
    EppTransportError,
    ServiceMissing,
)
from publishers.policy import build_view
from publishers.registries import Registry, RegistryConfigError, RegistryMap
from publishers.registry_compare import Comparison, compare, registry_handles, store_intent

log = logging.getLogger(__name__)

MISSING_CODE = 2303
CLTRID_PREFIX = "ILSHOW"
"""The clTRIDs of these read-only commands say where they came from in the registry's logs."""


class NotInStore(InterlinkError):
    """The domain asked about is not in the store."""


class RegistryViewError(InterlinkError):
    """The registry could not be asked, or would not say, what it holds."""


class RegistryUnreachable(RegistryViewError):
    """No EPP session could be opened or kept (connection, TLS, timeout)."""


class LoginRefused(RegistryViewError):
    """The registry refused our login."""


class NotAtRegistry(RegistryViewError):
    """The registry holds no such domain, or no contact its domain references (EPP 2303)."""


class RegistryRefused(RegistryViewError):
    """The registry answered an info command with an error code."""


@dataclass(frozen=True)
class Holdings:
    """What the registry answered: its domain, and its contacts by handle (None: it has none)."""

    domain: DomainInfo
    contacts: dict[str, ContactInfo | None]


def _address(registry: Registry) -> str:
    return f"{registry.host}:{registry.port}"


def _answer(response: Response) -> str:
    reasons = [reason for result in response.results for reason in result.reasons]
    text = f"EPP {response.code} {response.message}"
    return f"{text} ({'; '.join(reasons)})" if reasons else text


async def _info(
    session: EppSession, registry: Registry, what: str, build: Callable[[str], bytes]
) -> Response:
    try:
        return await session.command(build, cltrid=new_cltrid(CLTRID_PREFIX))
    except EppTransportError as exc:
        raise RegistryUnreachable(
            f"registry {registry.name} at {_address(registry)} stopped answering ({what}): {exc}"
        ) from None


def _refused(registry: Registry, what: str, response: Response) -> RegistryViewError:
    if response.code == MISSING_CODE:
        return NotAtRegistry(f"registry {registry.name} holds no {what} ({_answer(response)})")
    return RegistryRefused(f"registry {registry.name} would not show {what}: {_answer(response)}")


async def _domain(session: EppSession, registry: Registry, name: str) -> DomainInfo:
    response = await _info(
        session,
        registry,
        f"domain:info {name}",
        lambda cltrid: domain_info(name, cltrid=cltrid, hosts="del"),
    )
    found = response.res_data.get("domain_info")
    if not response.ok or found is None:
        raise _refused(registry, f"domain {name}", response)
    return found


async def _contact(
    session: EppSession, registry: Registry, handle: str, *, referenced: bool
) -> ContactInfo | None:
    response = await _info(
        session,
        registry,
        f"contact:info {handle}",
        lambda cltrid: contact_info(handle, cltrid=cltrid),
    )
    if response.code == MISSING_CODE and not referenced:
        return None  # ours, not (yet) at the registry: a difference, not an error
    found = response.res_data.get("contact_info")
    if not response.ok or found is None:
        raise _refused(registry, f"contact {handle}", response)
    return found


async def fetch_holdings(registry: Registry, name: str, handles: Iterable[str]) -> Holdings:
    """domain:info of name, then contact:info of each handle it references and of `handles`.

    One EPP session, logged out afterwards. The registry's authInfo passwords are parsed
    with the answers but never leave the Holdings' info objects.
    """
    endpoint = registry.endpoint()
    address = _address(registry)
    try:
        context = endpoint.ssl_context()
    except (OSError, ssl.SSLError, ValueError) as exc:
        raise RegistryConfigError(
            f"registries.{registry.name}: ca_file, cert_file or key_file cannot be used: {exc}"
        ) from None
    session = EppSession(endpoint, ssl_context=context)
    try:
        await session.connect()
        await session.login()
        domain = await _domain(session, registry, name)
        referenced = [h for held in registry_handles(domain).values() for h in held]
        contacts: dict[str, ContactInfo | None] = {}
        for handle in dict.fromkeys([*referenced, *handles]):
            contacts[handle] = await _contact(
                session, registry, handle, referenced=handle in referenced
            )
    except EppCommandError as exc:
        raise LoginRefused(
            f"registry {registry.name} at {address} refused the login of client "
            f"{endpoint.client_id}: EPP {exc.code} {exc.message}"
        ) from None
    except (ServiceMissing, ClientCertificateRefused) as exc:
        raise LoginRefused(f"registry {registry.name}: {exc}") from None
    except EppTransportError as exc:
        raise RegistryUnreachable(
            f"registry {registry.name} at {address} is not reachable: {exc}"
        ) from None
    finally:
        if session.logged_in:
            try:
                await session.logout()
            except (EppTransportError, EppCommandError):
                await session.close()
        else:
            await session.close()
    return Holdings(domain, contacts)


async def compare_with_registry(store: Store, registries: RegistryMap, name: str) -> Comparison:
    """The domain as its registry holds it beside what the store would send, every field marked.

    Errors (all InterlinkError, one line each): a name that is not valid, a domain not in the
    store, no registry for its TLD, the registry unreachable, our login refused, the registry
    holding no such domain (or no contact its domain references), another refusal.
    """
    alabel = validation.domain_name(name, field="domain")[0]
    try:
        record = store.domain_record(alabel)
    except NotFound:
        raise NotInStore(
            f"domain: {alabel} is not in the store, so there is nothing to compare"
        ) from None
    config = registries.tld(record.domain.tld)
    settings = store.settings
    view = build_view(
        record,
        profile=registries.publications(settings.publication_profile),
        registrar=settings.registrar,
        registry_policy=config.contacts,
    )
    registry = config.registry
    intent = store_intent(record, view, registry.client_id)
    holdings = await fetch_holdings(registry, record.domain.name, intent.contacts)
    comparison = compare(
        record,
        intent,
        holdings.domain,
        holdings.contacts,
        registry=registry.name,
        address=_address(registry),
    )
    log.info(
        "registry show %s at %s: %d differences",
        record.domain.name,
        registry.name,
        comparison.differences,
    )
    return comparison
