"""Pages and problem documents: every answer the portal gives, HTML or JSON, goes through here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from domains.errors import FieldError

TEMPLATES = Path(__file__).parent / "templates"
API_PREFIX = "/api/"
PROBLEM_JSON = "application/problem+json"

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=True,  # every value is escaped on every page, whatever the template's name
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


class Refused(Exception):
    """An answer other than the one asked for: 403, 404, 410, 413, 429 ... with words for people."""

    def __init__(
        self,
        status: int,
        title: str,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        errors: list[FieldError] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.title = title
        self.message = message
        self.headers = headers or {}
        self.errors = errors or []


def page(
    template: str, status: int = 200, *, headers: dict[str, str] | None = None, **context: Any
) -> HTMLResponse:
    """A rendered page (autoescaped)."""
    html = _env.get_template(template).render(**context)
    return HTMLResponse(html, status_code=status, headers=headers)


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """An RFC 9457 problem document; `errors` names each refused field and why."""
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = [{"field": e.field, "message": e.message} for e in errors]
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


def wants_json(path: str) -> bool:
    """API paths answer in JSON, the rest in HTML."""
    return path.startswith(API_PREFIX)


def refusal(path: str, refused: Refused) -> Response:
    """The answer for a Refused: a problem document on the API, a plain page elsewhere."""
    if wants_json(path):
        return problem(
            refused.status,
            refused.title,
            refused.message,
            errors=refused.errors,
            headers=refused.headers,
        )
    return page(
        "error.html",
        refused.status,
        headers=refused.headers,
        title=refused.title,
        message=refused.message,
    )


def refusal_for(request: Request, refused: Refused) -> Response:
    """`refusal` for a request."""
    return refusal(request.url.path, refused)
