"""Speed-ups that reach into libraries' insides: off until an entry point calls `install()`.

Everything here changes how fast, never what: without `install()` the product gives the same
results and errors, only slower (tests/domains/test_speedups.py compares both over tricky
inputs). The command line (`tui/cli.py`), `serve`, `sync` and the benchmarks install them.

- `email_validator`: each distinct domain of the addresses is checked once
  (`_remember_email_domains`);
- `idna`: each distinct label is checked once (`_remember_idna_label_checks`);
- `loaded`: ORM instances for reading only, made without the ORM's bookkeeping;
- `settle_heap`: for a long-running server, once started, what start-up loaded is moved out of
  the garbage collector's sight and young objects are collected less often, so no request waits
  while a full collection walks the whole heap (`serve` and the portal's uvicorn factory call it).
"""

from __future__ import annotations

import gc
import importlib
import threading
from collections.abc import Callable
from functools import lru_cache, wraps
from typing import Any, TypeVar

import email_validator

_M = TypeVar("_M")
_lock = threading.Lock()
#: (module, attribute name, the library's own function) of each patch applied.
_patched: list[tuple[Any, str, Callable[..., Any]]] = []
_installed = False


def install() -> None:
    """Apply every speed-up (idempotent; thread-safe)."""
    global _installed
    with _lock:
        if _installed:
            return
        _remember_email_domains()
        _remember_idna_label_checks()
        _installed = True


def uninstall() -> None:
    """Put the libraries back as they were and stop forging instances (for tests)."""
    global _installed
    with _lock:
        while _patched:
            module, name, original = _patched.pop()
            setattr(module, name, original)
        _installed = False


#: The youngest generation is collected after this many new objects (Python's default is 700):
#: one page of an account with a thousand domains makes tens of thousands of them.
YOUNG_GC_THRESHOLD = 50_000


def settle_heap() -> None:
    """Once a server has started: collect, freeze what is alive (modules, metadata, compiled
    templates: it stays for the life of the process), and collect young objects less often."""
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_GC_THRESHOLD, older, oldest)


def installed() -> bool:
    """True between `install()` and `uninstall()`."""
    return _installed


def _patch(
    module: Any, name: str, make: Callable[[Callable[..., Any]], Callable[..., Any]]
) -> None:
    """Bind module.name to make(the library's function); nothing when the library lacks it."""
    original = getattr(module, name, None)
    if original is None:  # a version of the library without it: keep its own path
        return
    _patched.append((module, name, original))
    setattr(module, name, make(original))


def _remember_email_domains() -> None:
    """Have email_validator check each distinct domain of the addresses only once.

    validate_email checks the part after the @ with validate_email_domain_name, a function of the
    domain, its flags and the library's SPECIAL_USE_DOMAIN_NAMES only, and that is most of its
    time; an import gives it millions of addresses under a handful of domains. So the name it
    calls is bound to the same function with its answers remembered (each caller gets a copy).
    Exceptions are not remembered: a bad domain is checked afresh and raises as before. Every
    other step of validate_email (local part, lengths, options) runs as it always did.
    """

    def make(check: Callable[..., Any]) -> Callable[..., Any]:
        @lru_cache(maxsize=4096)
        def remembered(domain: str, special_use: tuple[str, ...], *args: Any, **flags: Any) -> Any:
            return check(domain, *args, **flags)

        @wraps(check)
        def validate_email_domain_name(domain: str, *args: Any, **flags: Any) -> Any:
            special_use = tuple(email_validator.SPECIAL_USE_DOMAIN_NAMES)  # users may change it
            return dict(remembered(domain, special_use, *args, **flags))

        return validate_email_domain_name

    flow = importlib.import_module("email_validator.validate_email")
    _patch(flow, "validate_email_domain_name", make)


def _remember_idna_label_checks() -> None:
    """Have idna run its checks of each distinct label once.

    idna.encode checks every label (check_label, a function of the label alone) and idna.decode of
    the A-label checks the same labels again; an import also repeats a few TLDs millions of times.
    So the name idna's encode and decode call is bound to the same function with the labels that
    passed remembered. A label that fails is checked afresh and raises as before.
    """

    def make(check: Callable[..., Any]) -> Callable[..., Any]:
        remembered = lru_cache(maxsize=4096)(check)

        @wraps(check)
        def check_label(label: str | bytes | bytearray) -> None:
            if isinstance(label, str | bytes):  # not a bytearray: it cannot be a key
                return remembered(label)
            return check(label)

        return check_label

    core = importlib.import_module("idna.core")
    _patch(core, "check_label", make)


def loaded(model: type[_M], values: dict[str, Any]) -> _M:
    """An instance of the table model `model` holding `values`, for reading only.

    Installed, it is made as the ORM's loading fills one: mapped attributes read from the
    instance's __dict__, and there is no instance state (no session will ever hold it), at a
    fraction of the cost of the model's constructor. Otherwise the constructor makes it.
    """
    if _installed:
        instance = model.__new__(model)
        instance.__dict__.update(values)
        return instance
    return model(**values)
