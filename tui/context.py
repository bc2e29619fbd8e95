"""What the staff app needs from the outside world, handed in by the composition root."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from domains.staff import StaffView
from domains.store import Store


@dataclass(frozen=True)
class PublicWhois:
    """Where the live public WHOIS answers (our own server in the demo)."""

    host: str = "127.0.0.1"
    port: int = 4343
    timeout: float = 5.0


@dataclass
class AppContext:
    """The store, who is at the keyboard, and the services the screens may call."""

    store: Store
    #: The member of staff at the keyboard, as the system identified them (or, in a demo, the
    #: demo member chosen).
    staff: StaffView
    whois: PublicWhois = field(default_factory=PublicWhois)
    banner: str | None = None
    page_size: int = 100
    #: Called once the app is on screen (the demo starts its services then).
    on_ready: Callable[[Any], None] | None = None
    #: In a demo only: the demo staff the app may switch between (empty outside a demo).
    demo_staff: tuple[StaffView, ...] = ()

    @property
    def actor(self) -> str:
        """The audit actor: staff:LOGIN."""
        return self.staff.actor

    @property
    def is_demo(self) -> bool:
        return bool(self.demo_staff)
