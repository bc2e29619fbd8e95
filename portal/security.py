"""The portal's defences: CSRF tokens, origin checks, rate limits, body size limits, headers.

Every defence answers with a `Refused` (403, 413, 429 ...), which the app turns into a plain
page or a problem document; nothing here ever shows a traceback.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import logging
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from domains.server_secret import derive_key
from portal.render import Refused, refusal

log = logging.getLogger("interlink.portal")

CSRF_COOKIE = "interlink_csrf"
CSRF_FIELD = "csrf_token"
_NONCE_BYTES = 32
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    # Token and reference pages must never leak their URL to another site.
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


def loggable_path(path: str) -> str:
    """The path without confirmation tokens (long segments), safe for a log line."""
    return "/".join(part if len(part) <= 24 else "<token>" for part in path.split("/"))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


# -- CSRF: a signed double-submit cookie ---------------------------------------------------


@dataclass(frozen=True)
class CsrfToken:
    """The hidden field value for a form, and the cookie to set when the browser had none."""

    field: str
    new_cookie: str | None


class Csrf:
    """The cookie holds a random nonce; the form field holds its HMAC under the server secret.

    A forged form cannot carry the right field (the secret is needed), and a cookie planted by
    a neighbouring site cannot be matched either. The cookie is SameSite=Strict and HttpOnly.
    """

    def __init__(self, secret: bytes, *, secure: bool) -> None:
        self.key = derive_key(secret, "csrf")
        self.secure = secure

    def _sign(self, nonce: str) -> str:
        return _b64(hmac.new(self.key, nonce.encode("ascii"), hashlib.sha256).digest())

    @staticmethod
    def _usable(nonce: str | None) -> bool:
        return nonce is not None and 40 <= len(nonce) <= 64 and nonce.isascii()

    def issue(self, request: Request) -> CsrfToken:
        """The token for a form on this page (a new cookie when the browser sent none)."""
        nonce = request.cookies.get(CSRF_COOKIE)
        if self._usable(nonce):
            return CsrfToken(self._sign(nonce), None)  # type: ignore[arg-type]
        nonce = secrets.token_urlsafe(_NONCE_BYTES)
        return CsrfToken(self._sign(nonce), nonce)

    def set_cookie(self, response: Response, token: CsrfToken) -> Response:
        """Send the new cookie with the page, if one was made."""
        if token.new_cookie:
            response.set_cookie(
                CSRF_COOKIE,
                token.new_cookie,
                httponly=True,
                samesite="strict",
                secure=self.secure,
                path="/",
            )
        return response

    def verify(self, request: Request, submitted: object) -> None:
        """Refuse (403) a form post whose field does not match its cookie."""
        nonce = request.cookies.get(CSRF_COOKIE)
        if (
            not self._usable(nonce)
            or not isinstance(submitted, str)
            or not hmac.compare_digest(self._sign(nonce), submitted)  # type: ignore[arg-type]
        ):
            log.info("form refused: missing or invalid CSRF token")
            raise Refused(
                403,
                "This form could not be accepted",
                "The form's security check failed: it was sent without the cookie of the page "
                "it came from, or from another site. Open the form again, fill it in and send "
                "it; your browser must accept cookies from this site.",
            )


# -- where a form post came from ----------------------------------------------------------

_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_of(url: str) -> str | None:
    """`scheme://host[:port]` of a URL, lower case, the scheme's default port left out."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if scheme not in _DEFAULT_PORTS or not host:
        return None
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}" + (f":{port}" if port and port != _DEFAULT_PORTS[scheme] else "")


def own_origins(request: Request, base_url: str) -> set[str]:
    """The portal's own origins: that of its public address, and that of the host asked."""
    found = {origin_of(base_url), origin_of(str(request.base_url))}
    return {origin for origin in found if origin}


def check_origin(request: Request, base_url: str) -> None:
    """Refuse (403) a form post that a browser says came from another site.

    `Sec-Fetch-Site: cross-site`, or an `Origin` that is not the portal's own, is refused
    whatever the CSRF token. `Origin: null` is what browsers send from pages with
    `Referrer-Policy: no-referrer` (every page here), so it is refused only when the browser
    does not also say the post came from this site (`Sec-Fetch-Site: same-origin`). Without
    either header (older clients, programs) the CSRF token alone decides.
    """
    site = (request.headers.get("sec-fetch-site") or "").strip().lower()
    origin = request.headers.get("origin")
    if site == "cross-site":
        refused = True
    elif origin is None:
        refused = False
    elif origin.strip().lower() == "null":
        refused = site not in ("", "same-origin", "none")
    else:
        refused = origin_of(origin) not in own_origins(request, base_url)
    if refused:
        log.info("form refused: sent from another site")
        raise Refused(
            403,
            "This form could not be accepted",
            "The form was sent from a page of another site, not from this one. To ask for a "
            "change or to confirm one, open the form on this site yourself, fill it in and "
            "send it.",
        )


# -- rate limits ---------------------------------------------------------------------------


def client_key(request: Request) -> str:
    """Who is asking, for the rate limits: the address, or its /64 for IPv6.

    Behind a reverse proxy run uvicorn with --proxy-headers and --forwarded-allow-ips so that
    this is the visitor's address, not the proxy's.
    """
    host = request.client.host if request.client else "unknown"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if address.version == 6 and address.ipv4_mapped is None:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address.ipv4_mapped or address) if address.version == 6 else str(address)


def check_rate(request: Request, bucket: str, key: str | None = None) -> None:
    """Take a token from the bucket of `key` (default: the client), or refuse with 429."""
    limiter = request.app.state.portal.limiter
    wait = limiter.retry_after(bucket, key or client_key(request))
    if wait:
        log.info("rate limit: %s bucket empty for a client", bucket)
        raise Refused(
            429,
            "Too many requests",
            f"Too many requests came from your address. Please wait {wait} seconds and try again.",
            headers={"Retry-After": str(wait)},
        )


# -- middleware ----------------------------------------------------------------------------


def _too_large(limit: int) -> Refused:
    return Refused(
        413,
        "Request too large",
        f"The request is larger than {limit // 1024} KiB, the most this site accepts. "
        "Shorten the text and try again.",
    )


@dataclass(frozen=True)
class UploadLimit:
    """A form that takes files: its larger body limit, and the words when files exceed it."""

    max_bytes: int
    message: str


class BodyLimit:
    """Refuse bodies over `max_bytes` with 413 before anything parses them; the paths in
    `uploads` (forms with files) have their own limit and say what to do about the files."""

    def __init__(
        self, app: ASGIApp, max_bytes: int, uploads: dict[str, UploadLimit] | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.uploads = uploads or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        upload = self.uploads.get(path)
        limit = upload.max_bytes if upload else self.max_bytes
        too_large = Refused(413, "Files too large", upload.message) if upload else _too_large(limit)
        declared = Headers(scope=scope).get("content-length")
        if declared is not None:
            if not declared.isdigit():
                bad = Refused(400, "Bad request", "The request's Content-Length is not a number.")
                await refusal(path, bad)(scope, receive, send)
                return
            if int(declared) > limit:
                await refusal(path, too_large)(scope, receive, send)
                return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await refusal(path, too_large)(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


class SecurityHeaders:
    """CSP, no sniffing, no framing, no referrer on every answer; no caching of pages."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope.get("path", "").startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"server"]
                present = {k.lower() for k, _ in headers}
                headers += [(k, v) for k, v in SECURITY_HEADERS if k not in present]
                if not static and b"cache-control" not in present:
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class Shield:
    """The last line: any unexpected error becomes a plain 500 page; the log gets its type only."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as exc:  # nothing may reach the visitor as a traceback
            # The message may quote what a visitor typed: log the type and place only.
            where = exc.__traceback__
            while where is not None and where.tb_next is not None:
                where = where.tb_next
            origin = f"{where.tb_frame.f_code.co_filename}:{where.tb_lineno}" if where else "?"
            log.error(
                "unexpected %s at %s on %s %s",
                type(exc).__name__,
                origin,
                scope.get("method"),
                loggable_path(scope.get("path", "")),
            )
            if started:
                return
            failure = Refused(
                500,
                "Something went wrong",
                "The site could not answer this request. Please try again in a few minutes.",
            )
            await refusal(scope.get("path", ""), failure)(scope, receive, send)
