"""Which API endpoints the tests call: `@covers` marks a test, `calls_covered` checks it did."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from tests.support.portal import API, Portal

#: (METHOD, path template) -> the tests (module.name) that call it.
COVERED: dict[tuple[str, str], list[str]] = {}


def covers(method: str, path: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a test as exercising an endpoint of the schema (verified when the test runs)."""

    def mark(test: Callable[..., Any]) -> Callable[..., Any]:
        name = f"{test.__module__}.{test.__name__}"
        COVERED.setdefault((method.upper(), API + path), []).append(name)
        test.covers = [*getattr(test, "covers", []), (method.upper(), API + path)]  # type: ignore[attr-defined]
        return test

    return mark


def template_re(path: str) -> re.Pattern[str]:
    """A path template of the schema as a pattern of concrete paths."""
    return re.compile("^" + re.sub(r"\{[^/]+\}", "[^/]+", path) + "$")


@contextmanager
def calls_covered(portal: Portal, request: pytest.FixtureRequest) -> Iterator[None]:
    """Record the calls the test makes; after it, each endpoint it `@covers` must be among them."""
    called: set[tuple[str, str]] = set()
    wanted = getattr(request.function, "covers", [])

    def record(response: httpx.Response) -> None:
        called.add((response.request.method, response.request.url.path))

    portal.client.event_hooks["response"].append(record)
    yield
    for method, template in wanted:
        pattern = template_re(template)
        assert any(m == method and pattern.match(p) for m, p in called), (
            f"{request.function.__name__} is marked as covering {method} {template} "
            "but never called it"
        )
