"""Inputs validation must accept, shared by the validation tests and the speed-up tests."""

from __future__ import annotations

ADDRESSES = [
    "jane@example.com",
    "Jane.Doe@EXAMPLE.org",
    "postmaster@Example.Co.Uk",
    "x@bücher.de",
    "x@XN--BCHER-KVA.de",
    "x@xn--zz.com",
    "x@localhost",
    "x@example.local",
    "x@a..b.com",
    "x@-a.com",
    "x@ab--c.com",
    "a b@example.com",
    "..@example.com",
    "jürgen@example.com",
    "x" * 65 + "@example.com",
    "x" * 64 + "@" + ".".join(["y" * 63] * 3) + ".com",
    "x@" + "a" * 64 + ".com",
    "x@[127.0.0.1]",
    "Name <x@example.com>",
    "x@example。com",
]


NAMES = [
    "example.com",
    "EXAMPLE.co.uk",
    "bücher.de",
    "xn--bcher-kva.de",
    "xn--bcher-KVA.de",
    "xn---bbk.com",
    "ab--cd.com",
    "-ab.com",
    "a" * 64 + ".com",
    "faß.de",
    "пример.рф",
    "שלום.com",
    "1.שלום.com",
    "a\u200db.com",
    "e\u0301xample.com",
    "⒈.com",
    "example。com",
    "www.bücher.de",
    "co.uk",
]
