"""Login asks only for the services we use that the greeting offers, and is not tried when one
we need is missing (a clear reason instead of a registry's error code)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from publishers.epp.model import CONTACT_NS, DOMAIN_NS, HOST_NS, SECDNS_NS, Greeting
from publishers.epp.session import Endpoint, EppSession, ServiceMissing, login_services
from tests.support.sandbox import RecordingSandbox, assert_frames_valid, endpoint_for
from tests.support.sync import (
    CLIENT_ID,
    PASSWORD,
    entries,
    registries,
    seed,
    sync_once,
    write_registries,
)

RGP = "urn:ietf:params:xml:ns:rgp-1.0"
LAUNCH = "urn:ietf:params:xml:ns:launch-1.0"


def greeting(objects: tuple[str, ...], extensions: tuple[str, ...] = ()) -> Greeting:
    return Greeting(
        sv_id="x", sv_date=datetime(2026, 1, 1, tzinfo=UTC), obj_uris=objects, ext_uris=extensions
    )


def test_the_login_services_are_the_intersection() -> None:
    offered = greeting((HOST_NS, DOMAIN_NS, CONTACT_NS, "urn:example:obj"), (RGP, SECDNS_NS))
    ours = Endpoint(host="epp.example", port=700, client_id="c", password="pw-123456")
    # By default: contacts and domains (needed), host objects and secDNS (used when offered).
    assert login_services(offered, ours) == ((CONTACT_NS, DOMAIN_NS, HOST_NS), (SECDNS_NS,))
    plain = replace(ours, optional_obj_uris=(), ext_uris=())
    assert login_services(offered, plain) == ((CONTACT_NS, DOMAIN_NS), ())
    wanting = replace(plain, ext_uris=(SECDNS_NS, LAUNCH))
    assert login_services(offered, wanting) == ((CONTACT_NS, DOMAIN_NS), (SECDNS_NS,))
    with pytest.raises(ServiceMissing) as caught:
        login_services(greeting((DOMAIN_NS,), (RGP,)), plain)
    assert str(caught.value) == (
        f"the EPP server at epp.example:700 does not offer the object {CONTACT_NS} in its "
        "greeting, which we need; not logging in"
    )
    needy = replace(plain, needed_ext_uris=(SECDNS_NS,))
    with pytest.raises(ServiceMissing, match=f"extension {SECDNS_NS}"):
        login_services(greeting((CONTACT_NS, DOMAIN_NS), (RGP,)), needy)


async def test_login_asks_for_what_is_offered_and_used(tmp_path) -> None:
    sandbox = RecordingSandbox(
        tmp_path / "s.db",
        clients={CLIENT_ID: PASSWORD},
        obj_uris=(DOMAIN_NS, CONTACT_NS, HOST_NS),
        ext_uris=(SECDNS_NS, RGP),
    )
    async with sandbox:
        for extra in ({"optional_obj_uris": (), "ext_uris": ()}, {"ext_uris": (SECDNS_NS, LAUNCH)}):
            session = EppSession(endpoint_for(sandbox, CLIENT_ID, password=PASSWORD, **extra))
            await session.connect()
            assert (await session.login()).code == 1000
            await session.logout()
        first, second = (command.payload for command in sandbox.commands("login"))
        assert (first.obj_uris, first.ext_uris) == ((CONTACT_NS, DOMAIN_NS), ())
        assert (second.obj_uris, second.ext_uris) == (
            (CONTACT_NS, DOMAIN_NS, HOST_NS),
            (SECDNS_NS,),
        )
        assert_frames_valid(sandbox.received)


async def test_no_login_is_tried_when_a_needed_service_is_missing(tmp_path) -> None:
    sandbox = RecordingSandbox(
        tmp_path / "s.db", clients={CLIENT_ID: PASSWORD}, obj_uris=(DOMAIN_NS, HOST_NS)
    )
    async with sandbox:
        session = EppSession(endpoint_for(sandbox, CLIENT_ID, password=PASSWORD))
        await session.connect()
        with pytest.raises(ServiceMissing, match=f"does not offer the object {CONTACT_NS}"):
            await session.login()
        assert not session.logged_in
        await session.close()
        assert sandbox.received == []  # not even the login went out


@pytest.mark.usefixtures("sandbox_password")
async def test_the_sync_says_which_service_the_registry_lacks(store, tmp_path) -> None:
    sandbox = RecordingSandbox(
        tmp_path / "s.db", clients={CLIENT_ID: PASSWORD}, obj_uris=(DOMAIN_NS, HOST_NS)
    )
    async with sandbox:
        regs = registries(write_registries(tmp_path / "r.toml", sandbox), tmp_path)
        seeded = seed(store, sandbox, 1)
        registrant = store.domain_record(seeded.names[0]).contact("registrant")
        store.update_contact("staff:ann", registrant.handle, registrant.version, {"city": "Ulm"})
        await sync_once(store, regs)
        (entry,) = entries(store)
        assert entry.status == "pending"  # tried again later, when the registry may offer it
        assert f"does not offer the object {CONTACT_NS}" in (entry.last_error or "")
        assert sandbox.received == []
