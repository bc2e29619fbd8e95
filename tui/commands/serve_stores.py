"""The stores `interlink serve` opens: the lookups', and the portal's and publisher's own."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from domains.db import current_revision, ensure_schema, head_revision
from domains.errors import InterlinkError
from domains.grants import may_read_contacts
from domains.settings import Settings, get_settings
from domains.store import Store
from tui.commands.common import opened_store


class ServeError(InterlinkError):
    """The services could not start (a port in use, an address that cannot be bound...)."""


class NotCurrent(ServeError):
    """A read-only role found the store at another schema revision than this version's."""

    def __init__(self, revision: str | None) -> None:
        super().__init__(
            f"the store is at revision {revision or 'empty'}, this version needs "
            f"{head_revision()}; this role may not migrate it: run `interlink db upgrade` as the "
            "store's owner"
        )


@contextlib.contextmanager
def lookup_store(database_url: str | None) -> Iterator[tuple[Store, bool]]:
    """The lookups' store, and whether its login may only read published answers.

    A login that may read contacts gets the store as every command opens it (migrated, with
    the house contact). One that may not (interlink_rdds) gets it as it is: no migration, no
    write; its schema must be the current one already.
    """
    settings = get_settings()
    if database_url:
        settings = Settings(**{**settings.model_dump(), "database_url": database_url})
    store = Store.open(settings=settings, migrate=False)
    try:
        published_only = not may_read_contacts(store.engine)
        if published_only:
            revision = current_revision(store.engine)
            if revision != head_revision():
                raise NotCurrent(revision)
        else:
            ensure_schema(store.engine)
            store.ensure_house_contact()
        yield store, published_only
    finally:
        store.close()


@contextlib.contextmanager
def serve_stores(options: Any) -> Iterator[tuple[Store, bool, Store | None, Store | None]]:
    """The lookups' store, whether it may read published answers only, the portal's, the
    publisher's (None: the lookups' store, when it may read contacts)."""
    with contextlib.ExitStack() as stack:
        store, published_only = stack.enter_context(lookup_store(options.database_url))
        portal_store = publish_store = None
        if options.portal and options.portal_db:
            portal_store = stack.enter_context(opened_store(options.portal_db))
        if options.publish_db:
            publish_store = stack.enter_context(opened_store(options.publish_db))
        yield store, published_only, portal_store, publish_store
