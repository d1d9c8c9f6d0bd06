"""The failure throttle on a clock the test drives."""

from __future__ import annotations

from cimprovider.http.throttle import FailureThrottle, LeakyBuckets, Throttled, address_key


def fail(throttle: FailureThrottle, address: str, name: str, times: int, now: float = 0.0) -> None:
    for _ in range(times):
        assert throttle.check(address, name, now) is None
        throttle.charge(address, name, now)


def test_an_address_is_refused_after_its_allowance_and_lets_in_again_once_drained():
    throttle = FailureThrottle(per_address=5, per_user=100, window_seconds=60)
    for number in range(5):
        fail(throttle, "127.0.0.1", f"name-{number}", 1)
    refused = throttle.check("127.0.0.1", "anyone", 0.0)
    assert refused == Throttled("address", 12)  # one failure drains in 60/5 s
    assert throttle.check("127.0.0.2", "anyone", 0.0) is None
    assert throttle.check("127.0.0.1", "anyone", 11.9) is not None
    assert throttle.check("127.0.0.1", "anyone", 12.0) is None


def test_a_name_is_refused_from_every_address_known_or_not():
    throttle = FailureThrottle(per_address=100, per_user=3, window_seconds=30)
    for address in ("127.0.0.1", "127.0.0.2", "127.0.0.3"):
        fail(throttle, address, "nobody-by-this-name", 1)
    assert throttle.check("127.0.0.9", "nobody-by-this-name", 0.0) == Throttled("user", 10)
    assert throttle.check("127.0.0.9", "someone-else", 0.0) is None


def test_charge_says_when_throttling_starts_and_refund_takes_it_back():
    throttle = FailureThrottle(per_address=2, per_user=100, window_seconds=60)
    assert throttle.charge("a", "n", 0.0) is False
    throttle.refund("a", "n", 0.0)
    assert throttle.charge("a", "n", 0.0) is False
    assert throttle.charge("a", "n", 0.0) is True
    assert throttle.charge("a", "n", 0.0) is False  # already throttled


def test_a_user_is_not_locked_out_where_they_recently_succeeded():
    throttle = FailureThrottle(per_address=100, per_user=2, window_seconds=60, trust_seconds=600)
    throttle.trust("127.0.0.5", "alice", 0.0)
    fail(throttle, "127.0.0.66", "alice", 2)
    assert throttle.check("127.0.0.66", "alice", 1.0) is not None
    assert throttle.check("127.0.0.5", "alice", 1.0) is None
    # The trust lapses; the name's allowance then applies there too.
    fail(throttle, "127.0.0.66", "alice", 2, now=599.0)
    assert throttle.check("127.0.0.5", "alice", 601.0) is not None


def test_buckets_forget_the_least_recent_keys_beyond_their_bound():
    buckets = LeakyBuckets(allowance=1, window_seconds=60, max_keys=3)
    for key in ("a", "b", "c", "d"):
        buckets.add(key, 1, 0.0)
    assert buckets.level("a", 0.0) == 0.0
    assert buckets.level("d", 0.0) == 1.0


def test_an_ipv6_client_counts_as_its_slash_64():
    assert address_key("2001:db8:1:2:aaaa::1") == address_key("2001:db8:1:2:bbbb::9") == "2001:db8:1:2::/64"
    assert address_key("2001:db8:1:3::1") != address_key("2001:db8:1:2::1")
    assert address_key("::ffff:192.0.2.7") == "192.0.2.7"
    assert address_key("::1") == "::1" and address_key("127.0.0.1") == "127.0.0.1"
