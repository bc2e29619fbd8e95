"""Links into the portal's pages, built here only: for the pages, the mail and the staff UI."""

from __future__ import annotations

from domains.settings import Settings


class PortalLinks:
    """The portal's addresses, from `portal_base_url` as the settings say at each use."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @property
    def base(self) -> str:
        """The public address of the portal, without a trailing slash."""
        return self.settings.portal_base_url.rstrip("/")

    def status(self, reference: str) -> str:
        """The page that shows a request's state."""
        return f"{self.base}/status/{reference}"

    def confirm(self, token: str) -> str:
        """The page where the registrant confirms a request (the token is its only key)."""
        return f"{self.base}/confirm/{token}"

    def signin(self, token: str) -> str:
        """The page whose button signs the holder of a mailed sign-in link in."""
        return f"{self.base}/signin/{token}"

    def verify_email(self, token: str) -> str:
        """The page where a new e-mail address is confirmed as the contact's."""
        return f"{self.base}/verify-email/{token}"

    def registrant_change(self, token: str) -> str:
        """The page where a party to a change of registrant confirms or refuses it."""
        return f"{self.base}/registrant-change/{token}"

    def unsubscribe(self, token: str) -> str:
        """The page with one button (and the one-click POST) that ends marketing mail."""
        return f"{self.base}/unsubscribe/{token}"

    def disclosure_verify(self, token: str) -> str:
        """The page where a requestor of non-public data verifies their e-mail address."""
        return f"{self.base}/disclosure-requests/verify/{token}"

    def disclosure_download(self, token: str) -> str:
        """The single-use download of a disclosed document."""
        return f"{self.base}/disclosure-requests/download/{token}"

    def disclosure_signing_key(self) -> str:
        """The page where Interlink publishes the key that signs disclosed documents."""
        return f"{self.base}/disclosure-requests/signing-key"
