"""The portal's ASGI application: `create_app(store)`, served by uvicorn.

    uvicorn --factory portal.app:app_from_settings --host 127.0.0.1 --port 8080 --no-access-log

Run it without the access log (or with one that drops paths): confirmation links carry their
token in the path. Behind a reverse proxy add --proxy-headers so the rate limits see visitors'
addresses.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import Match
from starlette.types import Scope

from domains import speedups
from domains.mailer import Mailer, mailer_from_settings
from domains.settings import PortalSettings, Settings, get_settings
from domains.store import Store
from portal import (
    api,
    api_me,
    corrections,
    disclosures,
    forms,
    panel,
    panel_ascii,
    panel_change,
    panel_edit,
    panel_tokens,
    passkeys,
    signin,
    unsubscribe,
)
from portal.render import Refused, refusal_for, wants_json
from portal.security import BodyLimit, SecurityHeaders, Shield, UploadLimit
from portal.service import Portal

STATIC = Path(__file__).parent / "static"
FAVICON = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" '
    'rx="3" fill="#0b5cad"/><path d="M5 3h6v2H9v6h2v2H5v-2h2V5H5z" fill="#fff"/></svg>'
)

_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
_HTTP_WORDS = {
    400: ("Bad request", "The request could not be understood."),
    404: ("Page not found", "There is no page at this address."),
    405: ("Method not allowed", "This address does not accept that kind of request."),
}


def allowed_methods(app: FastAPI, scope: Scope) -> list[str]:
    """Every method some route answers at this path (Starlette names only the first route's)."""
    return [
        method
        for method in _METHODS
        if any(route.matches({**scope, "method": method})[0] == Match.FULL for route in app.routes)
    ]


def create_app(
    store: Store,
    *,
    mailer: Mailer | None = None,
    settings: Settings | None = None,
    config: PortalSettings | None = None,
) -> FastAPI:
    """The portal over `store`; mail goes through `mailer` (default: from the settings)."""
    settings = settings or store.settings
    config = config or settings.portal
    portal = Portal(
        store,
        mailer=mailer if mailer is not None else mailer_from_settings(settings),
        settings=settings,
        config=config,
    )
    app = FastAPI(
        title="Interlink customer portal",
        version="1.0",
        summary="Ask for, confirm and follow technical-contact changes of domains.",
        openapi_url=f"{api.PREFIX}/openapi.json",
        docs_url=None,
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
    )
    app.state.portal = portal
    app.openapi = lambda: api.openapi_schema(app)  # type: ignore[method-assign]
    app.include_router(forms.router)
    app.include_router(passkeys.router)  # before signin: /signin/passkey is not a token
    app.include_router(signin.router)
    app.include_router(unsubscribe.router)
    app.include_router(panel_tokens.router)
    app.include_router(panel_change.router)
    app.include_router(corrections.router)
    app.include_router(disclosures.router)
    app.include_router(panel_edit.router)
    app.include_router(panel_ascii.router)
    app.include_router(panel.router)
    app.include_router(api.router)
    app.include_router(api_me.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/favicon.svg", include_in_schema=False)
    def favicon() -> Response:
        return Response(FAVICON, media_type="image/svg+xml")

    @app.exception_handler(Refused)
    async def refused(request: Request, exc: Refused) -> Response:
        return refusal_for(request, exc)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        if request.url.path.startswith(api_me.ME):
            return refusal_for(request, api_me.refused_body(exc))
        return refusal_for(request, api.refused_body(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 400 and wants_json(request.url.path):
            # FastAPI's only 400 here: a JSON body that is not even text.
            return refusal_for(request, api.unreadable_body())
        title, message = _HTTP_WORDS.get(exc.status_code, ("Request refused", "Not possible."))
        headers = dict(exc.headers or {})
        allowed = allowed_methods(app, request.scope) if exc.status_code == 405 else []
        if allowed:  # none found inside a mount (its scope is its own): keep what it said
            headers["Allow"] = ", ".join(allowed)
        return refusal_for(request, Refused(exc.status_code, title, message, headers=headers))

    # Outermost last: headers on every answer, then the shield, then the size limit.
    attachment_bytes = settings.disclosures.max_attachment_bytes
    uploads = {
        disclosures.PATH: UploadLimit(
            disclosures.upload_limit_bytes(attachment_bytes),
            disclosures.upload_limit_message(attachment_bytes),
        )
    }
    app.add_middleware(BodyLimit, max_bytes=config.max_body_bytes, uploads=uploads)
    app.add_middleware(Shield)
    app.add_middleware(SecurityHeaders)
    return app


def app_from_settings() -> FastAPI:
    """The portal over the configured store (for `uvicorn --factory`)."""
    settings = get_settings()
    speedups.install()
    app = create_app(Store.open(settings=settings), settings=settings)
    speedups.settle_heap()  # what the app loaded stays for the life of the process
    return app
