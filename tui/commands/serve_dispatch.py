"""The HTTP listener's one app: RDAP under /rdap, the customer portal everywhere else."""

from __future__ import annotations

from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send


class PrefixDispatch:
    """ASGI: paths under `prefix` go to `app` (mounted there), all others to `default`.

    A plain prefix test rather than a router's pattern, so that no path (not even one with an
    encoded line break) falls between the two: every /rdap/... answer is RDAP's.
    """

    def __init__(self, prefix: str, app: ASGIApp, default: ASGIApp | None) -> None:
        self.prefix = prefix.rstrip("/")
        self.app = app
        self.default = default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if path == self.prefix or path.startswith(self.prefix + "/"):
            scope = {**scope, "root_path": scope.get("root_path", "") + self.prefix}
            await self.app(scope, receive, send)
        elif self.default is not None:
            await self.default(scope, receive, send)
        elif scope["type"] == "http":
            await PlainTextResponse("Not Found", status_code=404)(scope, receive, send)
