"""The public services' rate limiter: refusal, allow-list, refill, networks, bounded memory."""

from __future__ import annotations

import pytest

from domains.settings import RateLimitSettings
from publishers.ratelimit import Limit, RateLimiter, client_keys, limiter_from_settings


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


def limiter(clock: Clock, **options: object) -> RateLimiter:
    settings = {
        "per_address": Limit(rate=1.0, burst=3),
        "per_network": Limit(rate=10.0, burst=20),
        "clock": clock,
        **options,
    }
    return RateLimiter(**settings)  # type: ignore[arg-type]


def spend(limits: RateLimiter, address: str, times: int) -> list[bool]:
    return [limits.check(address).allowed for _ in range(times)]


def test_the_refusal_arrives_after_the_burst(clock: Clock) -> None:
    limits = limiter(clock)
    assert spend(limits, "192.0.2.10", 3) == [True, True, True]
    refused = limits.check("192.0.2.10")
    assert not refused.allowed
    assert refused.retry_after == pytest.approx(1.0)
    assert refused.retry_after_seconds == 1


def test_the_bucket_refills_with_time(clock: Clock) -> None:
    limits = limiter(clock)
    spend(limits, "192.0.2.10", 3)
    assert not limits.check("192.0.2.10").allowed
    clock.advance(0.5)
    half = limits.check("192.0.2.10")
    assert not half.allowed and half.retry_after == pytest.approx(0.5)
    clock.advance(0.5)
    assert limits.check("192.0.2.10").allowed
    assert not limits.check("192.0.2.10").allowed
    clock.advance(100)  # never more than the burst
    assert spend(limits, "192.0.2.10", 4) == [True, True, True, False]


def test_a_refused_query_spends_nothing(clock: Clock) -> None:
    limits = limiter(clock)
    spend(limits, "192.0.2.10", 10)
    clock.advance(1.0)
    assert limits.check("192.0.2.10").allowed


def test_the_allow_list_is_exempt(clock: Clock) -> None:
    limits = limiter(clock, allow_list=["192.0.2.0/28", "2001:db8:1::7"])
    assert all(spend(limits, "192.0.2.10", 1000))
    assert all(spend(limits, "2001:db8:1::7", 1000))
    assert spend(limits, "192.0.2.20", 4) == [True, True, True, False]  # outside the /28
    assert spend(limits, "2001:db8:1::8", 4) == [True, True, True, False]


def test_a_network_is_limited_as_a_whole(clock: Clock) -> None:
    limits = limiter(clock, per_network=Limit(rate=1.0, burst=5))
    allowed = [limits.check(f"198.51.100.{host}").allowed for host in range(1, 11)]
    assert allowed == [True] * 5 + [False] * 5
    assert limits.check("198.51.101.1").allowed  # the next /24 has its own bucket
    assert limits.check("::ffff:198.51.100.99").allowed is False  # mapped IPv4: same /24


def test_ipv6_networks_are_slash_48(clock: Clock) -> None:
    limits = limiter(clock, per_network=Limit(rate=1.0, burst=2))
    assert limits.check("2001:db8:aaaa:1::1").allowed
    assert limits.check("2001:db8:aaaa:ffff::2").allowed
    assert not limits.check("2001:db8:aaaa:1234::3").allowed
    assert limits.check("2001:db8:aaab::1").allowed
    assert client_keys("2001:db8:aaaa:1::1") == ("2001:db8:aaaa:1::1", "2001:db8:aaaa::/48")
    assert client_keys("192.0.2.77") == ("192.0.2.77", "192.0.2.0/24")
    assert client_keys("fe80::1%eth0") == ("fe80::1", "fe80::/48")


def test_odd_peers_share_one_bucket(clock: Clock) -> None:
    limits = limiter(clock)
    assert client_keys("not an address") is None
    assert spend(limits, "", 4) == [True, True, True, False]
    assert not limits.check(None).allowed
    assert not limits.check("/tmp/socket").allowed


def test_memory_is_bounded(clock: Clock) -> None:
    limits = limiter(clock, max_tracked=1000)
    for n in range(20_000):
        limits.check(f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}")
        clock.advance(0.001)
    assert len(limits) <= 1000
    clock.advance(3600)
    limits.check("203.0.113.1")  # a new client while full: idle buckets are dropped
    assert len(limits) <= 1000


def test_from_settings_and_bad_limits(clock: Clock) -> None:
    settings = RateLimitSettings(
        per_address_rate=2, per_address_burst=2, allow_list=["127.0.0.0/8"]
    )
    limits = limiter_from_settings(settings, clock)
    assert all(spend(limits, "127.0.0.1", 50))
    assert spend(limits, "192.0.2.1", 3) == [True, True, False]
    with pytest.raises(ValueError):
        Limit(rate=0, burst=1)
    with pytest.raises(ValueError):
        RateLimiter(per_address=Limit(1, 1), per_network=Limit(1, 1), allow_list=["nonsense"])
