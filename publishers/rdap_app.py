"""The RDAP server (RFC 9082 queries, RFC 9083 answers): a FastAPI app served by uvicorn.

    GET|HEAD /domain/{name}   the domain object (A-label or U-label, any case)
    GET|HEAD /help            what this service is and where its terms are
    OPTIONS  any path         a CORS preflight: 204 and the CORS headers (not rate limited)

Every answer is `application/rdap+json` and carries `Access-Control-Allow-Origin: *`, so web
pages of any site may query it (RFC 7480 section 5.6). Errors
are RFC 9083 error objects: 400 for a name that is not a domain name (control characters,
URL-encoded slashes and dots, path traversal, over-long labels, mixed scripts), 404 for a name
that is not ours and for any other path, 405 for other methods, 429 with `Retry-After` when a
client is over its rate limit, 503 when the store cannot be read, 500 for anything unforeseen.
No answer ever carries a traceback, and neither does the log. A domain of a TLD whose RDDS only
its registry runs is answered with a redirect (302 and Location) to the registry's RDAP service,
or a 404 object naming the registry's WHOIS server when it has none (publishers/rdap.py).

Domain objects come from `public_lookup` (the policy's PublicationView, then `render_rdap`),
serialised compactly, so RDAP shows exactly what the policy allows.

The domain query is the hot path of a public service, so the guard in front of the app (pure
ASGI, `RdapGuard`) sends a domain's answer itself when it is ready at once (rendered ahead, or
cached and provably current): the same bytes and headers as the route, without the framework's
routing, request object and parameter validation per query (measured: about two fifths of the
server's time a query). Everything else, including every error, goes through the FastAPI app.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from domains.settings import Settings
from domains.store import Store
from publishers.answer_reader import LookupUnavailable
from publishers.public_lookup import PublicLookup
from publishers.query_names import QueryError, normalise
from publishers.ratelimit import RateLimiter, limiter_from_settings
from publishers.rdap import CONFORMANCE, RDAP_JSON, rdap_bytes, referral_of

log = logging.getLogger(__name__)

ERROR_CONFORMANCE = ["rdap_level_0"]
_TITLES = {
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    422: "Bad Request",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}
_CORS = (b"access-control-allow-origin", b"*")
_METHODS = "GET, HEAD, OPTIONS"
#: The answer to a CORS preflight: any site may GET and HEAD with the usual headers; browsers
#: may keep this for a day.
_PREFLIGHT = [
    _CORS,
    (b"access-control-allow-methods", _METHODS.encode("ascii")),
    (b"access-control-allow-headers", b"Accept, Accept-Language, Content-Type, If-None-Match"),
    (b"access-control-max-age", b"86400"),
    (b"allow", _METHODS.encode("ascii")),
]
_DOMAIN_PATH = "/domain/"
_RDAP_TYPE = (b"content-type", RDAP_JSON.encode("ascii"))


def rdap_lookup(store: Store, settings: Settings | None = None, **options: Any) -> PublicLookup:
    """A PublicLookup that renders RDAP JSON."""
    return PublicLookup(store, rdap_bytes, settings=settings, service="rdap", **options)


def error_body(status: int, description: list[str], title: str | None = None) -> bytes:
    """An RFC 9083 error object."""
    body = {
        "rdapConformance": ERROR_CONFORMANCE,
        "errorCode": status,
        "title": title or _TITLES.get(status, "Error"),
        "description": description,
    }
    return json.dumps(body, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def rdap_error(
    status: int, description: list[str], *, headers: dict[str, str] | None = None
) -> Response:
    """An RFC 9083 error response."""
    return Response(
        error_body(status, description), status_code=status, media_type=RDAP_JSON, headers=headers
    )


def help_body(settings: Settings, base_path: str = "") -> bytes:
    """The /help answer: what the service is, how to query it, where its terms are."""
    registrar = settings.registrar
    base = registrar.rdap_base_url.rstrip("/")
    body = {
        "rdapConformance": list(CONFORMANCE),
        "notices": [
            {
                "title": "Help",
                "description": [
                    f"RDAP service of {registrar.name} (RFC 9082, RFC 9083, RFC 9537).",
                    "Query a domain with GET /domain/NAME; NAME may be an A-label or a U-label.",
                    "Personal data is redacted according to the ICANN Registration Data Policy.",
                ],
                "links": [
                    {
                        "value": f"{base}/help",
                        "rel": "help",
                        "href": registrar.terms_url,
                        "type": "text/html",
                    }
                ],
            },
        ],
    }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class RdapGuard:
    """Pure ASGI middleware: rate limit, CORS header on every answer, no traceback ever; and the
    domain answers that are ready at once, sent from here (see the module's docstring)."""

    def __init__(
        self, app: ASGIApp, limiter: RateLimiter | None = None, lookup: PublicLookup | None = None
    ) -> None:
        self.app = app
        self.limiter = limiter
        self.lookup = lookup

    async def _ready_answer(self, scope: Scope) -> bytes | None:
        """The body of `GET|HEAD /domain/NAME` when it is ready at once; None: let the app answer
        (a bad name, an unknown one, a store to read, any other path or method)."""
        if self.lookup is None or scope["method"] not in ("GET", "HEAD"):
            return None
        path: str = scope["path"]
        root: str = scope.get("root_path", "")
        if root:
            if not path.startswith(root + "/"):
                return None
            path = path[len(root) :]
        if not path.startswith(_DOMAIN_PATH):
            return None
        try:
            answer = await self.lookup.answer_ready(normalise(path[len(_DOMAIN_PATH) :]))
        except (QueryError, LookupUnavailable):
            return None  # the route says so, in its own words
        return None if answer is None else answer.body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_with_cors(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = [h for h in message.get("headers", ()) if h[0].lower() != _CORS[0]]
                headers.append(_CORS)
                message["headers"] = headers
            await send(message)

        if scope["method"] == "OPTIONS":
            # A browser asks before a cross-site query; cheap, so not counted as a query.
            await send({"type": "http.response.start", "status": 204, "headers": _PREFLIGHT})
            await send({"type": "http.response.body", "body": b""})
            return
        raw_path = scope.get("raw_path") or b""
        if b"%" in raw_path and (b"%2f" in raw_path.lower() or b"%5c" in raw_path.lower()):
            # An encoded slash or backslash is data, not a separator (RFC 3986), and no domain
            # name holds one: refuse it rather than let a decoded path route somewhere.
            response = rdap_error(400, ["The path holds an encoded slash or backslash."])
            await response(scope, receive, send_with_cors)
            return
        if self.limiter is not None:
            client = scope.get("client")
            decision = self.limiter.check(client[0] if client else None)
            if not decision.allowed:
                wait = decision.retry_after_seconds
                response = rdap_error(
                    429,
                    [f"Too many queries from your address; try again in {wait} seconds."],
                    headers={"Retry-After": str(wait)},
                )
                await response(scope, receive, send_with_cors)
                return
        try:
            body = await self._ready_answer(scope)
            if body is not None:
                # What the route's Response sends (uvicorn leaves the body out for HEAD).
                length = (b"content-length", str(len(body)).encode("ascii"))
                status, location = referral_of(body) or (200, None)
                headers = [length, _RDAP_TYPE, _CORS]
                if location is not None:
                    headers.insert(0, (b"location", location.encode("ascii")))
                started = True
                await send({"type": "http.response.start", "status": status, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
            await self.app(scope, receive, send_with_cors)
        except Exception as exc:
            log.error("rdap: request failed: %s", type(exc).__name__)
            log.debug("rdap: request failed", exc_info=True)
            if not started:
                response = rdap_error(500, ["The server could not answer; try again later."])
                await response(scope, receive, send_with_cors)


def create_rdap_app(
    store: Store,
    settings: Settings | None = None,
    *,
    lookup: PublicLookup | None = None,
    limiter: RateLimiter | None = None,
) -> FastAPI:
    """The RDAP app over `store`; the rate limiter defaults to the `serve.rate_limit` settings.

    Close `app.state.lookup` when done with the app (Services does).
    """
    settings = settings or store.settings
    lookup = lookup or rdap_lookup(store, settings)
    limiter = limiter or limiter_from_settings(settings.serve.rate_limit)
    app = FastAPI(
        title=f"{settings.registrar.name} RDAP",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        swagger_ui_oauth2_redirect_url=None,
    )
    app.state.lookup = lookup
    app.state.limiter = limiter
    help_answer = help_body(settings)

    @app.api_route("/domain/{name:path}", methods=["GET", "HEAD"])
    async def domain(name: str) -> Response:
        try:
            alabel = normalise(name)
        except QueryError as exc:
            return rdap_error(400, [f"Not a domain name: {exc}."])
        answer = await lookup.answer_alabel(alabel)
        if answer.body is None:
            return rdap_error(404, [f"{alabel} is not a domain name registered with us."])
        status, location = referral_of(answer.body) or (200, None)
        headers = {"Location": location} if location is not None else None
        return Response(answer.body, status_code=status, media_type=RDAP_JSON, headers=headers)

    @app.api_route("/help", methods=["GET", "HEAD"])
    async def help_() -> Response:
        return Response(help_answer, media_type=RDAP_JSON)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        status = exc.status_code if exc.status_code in _TITLES else 400
        words = {
            404: "There is no RDAP object at this path; try /domain/NAME or /help.",
            405: "Only GET and HEAD (and OPTIONS, for CORS) are answered here.",
        }.get(status, "The request could not be understood.")
        return rdap_error(status, [words], headers={"Allow": _METHODS} if status == 405 else None)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        return rdap_error(400, ["The request could not be understood."])

    @app.exception_handler(LookupUnavailable)
    async def unavailable(request: Request, exc: LookupUnavailable) -> Response:
        return rdap_error(503, ["The service is temporarily unavailable; try again later."])

    app.add_middleware(RdapGuard, limiter=limiter, lookup=lookup)
    return app
