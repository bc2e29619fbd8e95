"""RDAP domain objects (RFC 9083, jCard entities, RFC 9537 `redacted`) from a PublicationView.

Each redacted field is rendered by its method and listed in `redacted` with a JSONPath that
holds on this very response: `prePath` (where the member would be) for removal and for an
e-mail replaced by a `contact-uri` (with `replacementPath` to it), `postPath` (the emptied value)
for emptyValue. Redaction names are the ICANN-registered ones where ICANN registered one
(`{"type": ...}`), otherwise the ICANN-style label as a `{"description": ...}`. A field the
profile omits is no part of the object (no member, no redaction).

For a TLD whose RDDS only its registry runs, the answer is no domain object but where the data
is: what RFC 7480 (section 5.2) has a server do when "the answer to a given query can be found
elsewhere", a redirect (302) to the registry's RDAP URL of the domain, which RDAP clients follow;
its body is an RFC 9083 (section 6) non-answer object, errorCode 302, whose notice links there
and names the registry's WHOIS server, for a reader that does not follow. A registry without an
RDAP service gives a 404 object naming its WHOIS server. `referral_of` reads status and
Location back from the rendered bytes, so answers rendered ahead need nothing else.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import orjson

from domains.vocabulary import ContactRole
from publishers.policy import FieldView, PublicationView, RoleView
from publishers.profiles import RegistryRdds

CONFORMANCE = (
    "rdap_level_0",
    "redacted",
    "icann_rdap_response_profile_1",
    "icann_rdap_technical_implementation_guide_1",
)
RDAP_ROLES: Mapping[str, str] = {
    ContactRole.REGISTRANT: "registrant",
    ContactRole.ADMIN: "administrative",
    ContactRole.TECH: "technical",
    ContactRole.BILLING: "billing",
}
#: RFC 8056 section 2: EPP domain status -> RDAP status.
RDAP_STATUS = {
    "ok": "active",
    "inactive": "inactive",
    "clientDeleteProhibited": "client delete prohibited",
    "clientHold": "client hold",
    "clientRenewProhibited": "client renew prohibited",
    "clientTransferProhibited": "client transfer prohibited",
    "clientUpdateProhibited": "client update prohibited",
    "pendingCreate": "pending create",
    "pendingDelete": "pending delete",
    "pendingRenew": "pending renew",
    "pendingTransfer": "pending transfer",
    "pendingUpdate": "pending update",
    "serverDeleteProhibited": "server delete prohibited",
    "serverHold": "server hold",
    "serverRenewProhibited": "server renew prohibited",
    "serverTransferProhibited": "server transfer prohibited",
    "serverUpdateProhibited": "server update prohibited",
}
#: The redaction names ICANN registered at IANA for the RDAP Response Profile.
REGISTERED_NAMES = frozenset(
    {
        "Registry Domain ID",
        "Registry Registrant ID",
        "Registrant Name",
        "Registrant Organization",
        "Registrant Street",
        "Registrant City",
        "Registrant Postal Code",
        "Registrant Phone",
        "Registrant Phone Ext",
        "Registrant Fax",
        "Registrant Fax Ext",
        "Registrant Email",
        "Registry Tech ID",
        "Tech Name",
        "Tech Phone",
        "Tech Phone Ext",
        "Tech Email",
    }
)
STATUS_URL = "https://icann.org/epp"
WICF_URL = "https://icann.org/wicf"
RDAP_JSON = "application/rdap+json"
#: Where each jCard member of a contact sits, as a JSONPath filter on vcardArray[1].
_MEMBER = {
    "name": "[?(@[0]=='fn')]",
    "org": "[?(@[0]=='org')]",
    "street": "[?(@[0]=='adr')]",
    "city": "[?(@[0]=='adr')]",
    "postal_code": "[?(@[0]=='adr')]",
    "voice": "[?(@[1].type=='voice')]",
    "voice_ext": "[?(@[1].type=='voice')]",
    "fax": "[?(@[1].type=='fax')]",
    "fax_ext": "[?(@[1].type=='fax')]",
    "email": "[?(@[0]=='email')]",
}
#: emptyValue: the emptied part of the member (the text; adr slots, street with pobox and ext).
_EMPTIED = {
    "name": "[3]",
    "org": "[3]",
    "street": "[3][:3]",
    "city": "[3][3]",
    "postal_code": "[3][5]",
}


def _iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _entity_path(role: str) -> str:
    return f"$.entities[?(@.roles[0]=='{RDAP_ROLES[role]}')]"


def redaction(view: FieldView) -> dict[str, Any]:
    """The RFC 9537 `redacted` member of one redacted field."""
    entity = _entity_path(view.role)
    name_key = "type" if view.rdap_name in REGISTERED_NAMES else "description"
    member: dict[str, Any] = {"name": {name_key: view.rdap_name}}
    if view.field == "handle":
        member["prePath"] = f"{entity}.handle"
    elif view.method == "emptyValue":
        member["postPath"] = f"{entity}.vcardArray[1]{_MEMBER[view.field]}{_EMPTIED[view.field]}"
    else:
        member["prePath"] = f"{entity}.vcardArray[1]{_MEMBER[view.field]}"
    if view.method == "replacementValue":
        member["replacementPath"] = f"{entity}.vcardArray[1][?(@[0]=='contact-uri')]"
    member.update(pathLang="jsonpath", method=view.method, reason={"description": "Server policy"})
    return member


def _shown(view: FieldView) -> str | None:
    """The text a jCard member carries: the value, "" when emptied, None when left out."""
    if view.published:
        return view.value
    return "" if view.method == "emptyValue" else None


def _tel(role: RoleView, number: str, ext: str, kind: str) -> list[Any]:
    tel = role.field(number)
    if not tel.published or not tel.value:
        return []
    extension = role.field(ext)
    uri = f"tel:{tel.value}"
    if extension.published and extension.value:
        uri += f";ext={extension.value}"
    return [["tel", {"type": kind}, "uri", uri]]


def _street(view: FieldView) -> str | list[str]:
    if not view.published:
        return ""
    return list(view.lines) if len(view.lines) > 1 else (view.lines[0] if view.lines else "")


def vcard(role: RoleView) -> list[Any]:
    """The jCard of a contact role, redactions applied."""
    fields = {view.field: view for view in role.fields}
    card: list[Any] = [
        ["version", {}, "text", "4.0"],
        ["fn", {}, "text", _shown(fields["name"]) or ""],
    ]
    org = _shown(fields["org"])
    if org is not None:
        card.append(["org", {}, "text", org])
    address = [
        "",
        "",
        _street(fields["street"]),
        _shown(fields["city"]) or "",
        _shown(fields["state"]) or "",
        _shown(fields["postal_code"]) or "",
        "",
    ]
    country = fields["country"].value if fields["country"].published else None
    if not fields["street"].omitted:  # the address is omitted whole or not at all
        card.append(["adr", {"cc": country} if country else {}, "text", address])
    card += _tel(role, "voice", "voice_ext", "voice")
    card += _tel(role, "fax", "fax_ext", "fax")
    email = fields["email"]
    if email.published and email.value:
        card.append(["email", {}, "text", email.value])
    elif email.method == "replacementValue":
        card.append(["contact-uri", {}, "uri", email.value])
    return ["vcard", card]


def contact_entity(role: RoleView) -> dict[str, Any]:
    """The RDAP entity of a contact role."""
    entity: dict[str, Any] = {"objectClassName": "entity"}
    handle = role.field("handle")
    if handle.published and handle.value:
        entity["handle"] = handle.value
    entity.update(roles=[RDAP_ROLES[role.role]], vcardArray=vcard(role))
    return entity


def registrar_entity(view: PublicationView) -> dict[str, Any]:
    """The registrar entity: IANA id, name, and the nested abuse contact."""
    registrar = view.registrar
    abuse = {
        "objectClassName": "entity",
        "roles": ["abuse"],
        "vcardArray": [
            "vcard",
            [
                ["version", {}, "text", "4.0"],
                ["fn", {}, "text", f"{registrar.name} abuse desk"],
                ["tel", {"type": "voice"}, "uri", f"tel:{registrar.abuse_phone}"],
                ["email", {}, "text", registrar.abuse_email],
            ],
        ],
    }
    return {
        "objectClassName": "entity",
        "handle": registrar.iana_id,
        "roles": ["registrar"],
        "publicIds": [{"type": "IANA Registrar ID", "identifier": registrar.iana_id}],
        "vcardArray": [
            "vcard",
            [["version", {}, "text", "4.0"], ["fn", {}, "text", registrar.name]],
        ],
        "links": [
            {"value": registrar.url, "rel": "about", "href": registrar.url, "type": "text/html"}
        ],
        "entities": [abuse],
    }


def _events(view: PublicationView) -> list[dict[str, str]]:
    domain = view.domain
    events = [
        ("registration", domain.created),
        ("expiration", domain.expires),
        ("last changed", domain.updated),
        ("last update of RDAP database", view.generated_at),
    ]
    return [{"eventAction": action, "eventDate": _iso(when)} for action, when in events if when]


def _notices(view: PublicationView, self_url: str) -> list[dict[str, Any]]:
    def link(rel: str, href: str) -> list[dict[str, str]]:
        return [{"value": self_url, "rel": rel, "href": href, "type": "text/html"}]

    return [
        {
            "title": "Terms of Service",
            "description": [
                f"Service subject to the terms of use of {view.registrar.name}.",
                "Personal data is redacted according to the ICANN Registration Data Policy.",
            ],
            "links": link("terms-of-service", view.registrar.terms_url),
        },
        {
            "title": "Status Codes",
            "description": [
                "For more information on domain status codes, please visit https://icann.org/epp"
            ],
            "links": link("glossary", STATUS_URL),
        },
        {
            "title": "RDDS Inaccuracy Complaint Form",
            "description": [
                "URL of the ICANN RDDS Inaccuracy Complaint Form: https://icann.org/wicf"
            ],
            "links": link("help", WICF_URL),
        },
    ]


#: A domain recorded as signed (an import, a record older than DS records) with no DS on file.
UNSHOWN_DS_REMARK = {
    "title": "DNSSEC",
    "description": [
        "The domain is recorded as signed, but its DS records are not on file with the registrar."
    ],
}


def secure_dns(view: PublicationView) -> dict[str, Any]:
    """RFC 9083 section 5.3: whether the delegation is signed, and its DS records on file.

    delegationSigned is true only with the DS records to show (dsData): an answer saying the
    delegation is signed shows what it is signed with. A domain recorded as signed without DS
    records on file says false, and a remark (`UNSHOWN_DS_REMARK`) says why.
    """
    domain = view.domain
    member: dict[str, Any] = {"delegationSigned": bool(domain.dnssec and domain.ds)}
    if member["delegationSigned"]:
        member["dsData"] = [
            {
                "keyTag": ds.key_tag,
                "algorithm": ds.algorithm,
                "digest": ds.digest,
                "digestType": ds.digest_type,
            }
            for ds in domain.ds
        ]
    return member


def render_rdap(view: PublicationView) -> dict[str, Any]:
    """The RDAP domain object of one domain (or the referral to its registry), JSON-ready."""
    if view.registry_rdds is not None:
        return render_referral(view, view.registry_rdds)
    domain = view.domain
    self_url = f"{view.registrar.rdap_base_url.rstrip('/')}/domain/{domain.name}"
    body: dict[str, Any] = {
        "rdapConformance": list(CONFORMANCE),
        "objectClassName": "domain",
    }
    if domain.roid:
        body["handle"] = domain.roid
    body["ldhName"] = domain.name
    if domain.is_idn:
        body["unicodeName"] = domain.unicode_name
    if domain.dnssec and not domain.ds:
        body["remarks"] = [UNSHOWN_DS_REMARK]
    body.update(
        status=[RDAP_STATUS.get(status, status) for status in domain.statuses],
        events=_events(view),
        nameservers=[{"objectClassName": "nameserver", "ldhName": h} for h in domain.nameservers],
        secureDNS=secure_dns(view),
        entities=[contact_entity(r) for r in view.shown_roles if r.present]
        + [registrar_entity(view)],
        links=[
            {"value": self_url, "rel": "self", "href": self_url, "type": RDAP_JSON},
            {"value": self_url, "rel": "related", "href": view.registrar.url, "type": "text/html"},
        ],
        port43=view.registrar.whois_server,
        notices=_notices(view, self_url),
        redacted=[
            redaction(f)
            for r in view.shown_roles
            if r.present
            for f in r.fields
            if not f.published and not f.omitted
        ],
    )
    return body


#: How every referral's bytes begin (a domain object's conformance has more than rdap_level_0).
REFERRAL_START = b'{"rdapConformance":["rdap_level_0"],"errorCode":'


def render_referral(view: PublicationView, rdds: RegistryRdds) -> dict[str, Any]:
    """The answer for a domain whose TLD's RDDS only its registry runs (see the module's text)."""
    name, registrar = view.domain.name, view.registrar
    tld = name.rsplit(".", 1)[-1]
    target = rdds.rdap_url(name)
    said = [
        f"{registrar.name} runs no RDAP service for .{tld} domains: the registration data of "
        f"{name} is held by the .{tld} registry.",
        f"The registry's WHOIS server: {rdds.whois_server}.",
    ]
    if target is None:
        return {
            "rdapConformance": ["rdap_level_0"],
            "errorCode": 404,
            "title": "Registration data held by the registry",
            "description": said,
        }
    self_url = f"{registrar.rdap_base_url.rstrip('/')}/domain/{name}"
    return {
        "rdapConformance": ["rdap_level_0"],
        "errorCode": 302,
        "title": "Registration data held by the registry",
        "description": [*said, f"The registry's RDAP answer: {target}"],
        "notices": [
            {
                "title": "Registry RDAP service",
                "description": [f"The registration data of {name} at the .{tld} registry."],
                "links": [{"value": self_url, "rel": "related", "href": target, "type": RDAP_JSON}],
            }
        ],
    }


def referral_of(body: bytes) -> tuple[int, str | None] | None:
    """The HTTP status and Location of a rendered referral; None for a domain object (200)."""
    if not body.startswith(REFERRAL_START):
        return None
    data = orjson.loads(body)
    links = [link for notice in data.get("notices", ()) for link in notice.get("links", ())]
    return int(data["errorCode"]), links[0]["href"] if links else None


def rdap_json(view: PublicationView, *, indent: int | None = None) -> str:
    """The RDAP domain object serialised as UTF-8-ready JSON text."""
    return json.dumps(render_rdap(view), ensure_ascii=False, indent=indent)


def rdap_bytes(view: PublicationView) -> bytes:
    """The RDAP domain object of a view as compact UTF-8 JSON."""
    # orjson: a tenth of json.dumps's time on a 7 KB answer, which is most of an uncached one.
    return orjson.dumps(render_rdap(view))
