"""Query names: plain ASCII names take a shortcut past the idna package; it must give exactly
what idna gives, and hand everything else to it."""

from __future__ import annotations

import pytest

from publishers.query_names import QueryError, _normalised, _plain, normalise

LABEL_63 = "a" * 63
TRICKY = [
    "example.com",
    "Example.COM",
    "example.com.",
    "a.b",
    "1.2.3.4",
    "0-0.de",
    "a-b-c.co.uk",
    f"{LABEL_63}.com",
    f"{LABEL_63}b.com",  # a 64-octet label
    ".".join(["a" * 61] * 4) + ".com",  # 253 octets
    ".".join(["a" * 61] * 4) + ".co",  # 252
    ".".join(["a" * 62] * 4) + ".com",  # 257
    "-example.com",
    "example-.com",
    "ex--ample.com",
    "ab--cd.com",  # hyphens in the 3rd and 4th places
    "xn--bcher-kva.de",
    "XN--BCHER-KVA.DE",
    "xn--zzzz.de",  # not valid punycode
    "example..com",
    ".example.com",
    "example.com..",
    "under_score.com",
    "exa mple.com",
    " example.com",
    "example",
    "",
    "bücher.de",
    "Bücher.DE",
    "ex\u00adample.com",
    "example.com\u2028",
]


@pytest.mark.parametrize("query", TRICKY)
def test_the_shortcut_gives_what_idna_gives(query: str) -> None:
    ok, expected = _normalised(query)
    shortcut = _plain(query)
    if shortcut is not None:
        assert ok and shortcut == expected
    if ok:
        assert normalise(query) == expected
    else:
        with pytest.raises(QueryError) as refused:
            normalise(query)
        assert str(refused.value) == expected


def test_the_shortcut_takes_plain_names_and_leaves_the_rest() -> None:
    assert _plain("Example.COM.") == "example.com"
    for query in ("xn--bcher-kva.de", "ab--cd.com", "bücher.de", "under_score.com", "a..b"):
        assert _plain(query) is None
