"""Masked forms of personal data, for pages and mails that must hint without disclosing."""

from __future__ import annotations

STARS = "***"


def mask_email(address: str | None) -> str:
    """`jane.doe@example.com` -> `j***@e***.com`: first characters and the TLD only.

    The number of stars is fixed, so the mask does not give away the lengths.
    """
    if not address or "@" not in address:
        return STARS
    local, _, domain = address.strip().rpartition("@")
    if not local or not domain:
        return STARS
    labels = [label for label in domain.rstrip(".").split(".") if label]
    if not labels:
        return f"{local[0]}{STARS}@{STARS}"
    masked_domain = f"{labels[0][0]}{STARS}"
    if len(labels) > 1:
        masked_domain += f".{labels[-1]}"
    return f"{local[0]}{STARS}@{masked_domain}"


def mask_name(value: str | None) -> str:
    """`Example Hosting GmbH` -> `E*** H*** G***`: the first character of each word."""
    words = (value or "").split()
    if not words:
        return STARS
    return " ".join(f"{word[0]}{STARS}" for word in words)
