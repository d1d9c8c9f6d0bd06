"""Throttling of failed authentications, per client address and per user
name.

Each key (an address, or a name — known or not, so that being throttled
reveals nothing about which names exist) has a leaky bucket: a failure adds
one, the bucket drains at `allowance / window` per second, and a full bucket
refuses further attempts until it has drained below the brim. Only failures
fill it, so any number of honest clients behind one address pass.

Sans-I/O: the caller passes the clock, so tests drive time themselves."""

from __future__ import annotations

import ipaddress
import math
from collections import OrderedDict
from dataclasses import dataclass

# Beyond this many keys the least recently touched are forgotten, so a
# flood of invented names or addresses cannot grow memory without bound.
MAX_KEYS = 65_536


def address_key(address: str) -> str:
    """The unit a client's failures count against: its IPv4 address, or its
    IPv6 /64, since one IPv6 host commonly holds a whole /64."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        if not ip.is_loopback:
            return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


@dataclass(slots=True)
class Bucket:
    level: float
    updated: float


class LeakyBuckets:
    """Failure counts that drain over time, one bucket per key."""

    def __init__(self, allowance: int, window_seconds: float, max_keys: int = MAX_KEYS) -> None:
        self.allowance = allowance
        self.rate = allowance / window_seconds
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, Bucket] = OrderedDict()

    def level(self, key: str, now: float) -> float:
        bucket = self._buckets.get(key)
        if bucket is None:
            return 0.0
        return max(0.0, bucket.level - (now - bucket.updated) * self.rate)

    def retry_after(self, key: str, now: float) -> float | None:
        """Seconds until `key` may try again, or None if it may now."""
        excess = self.level(key, now) - self.allowance + 1
        return excess / self.rate if excess > 0 else None

    def add(self, key: str, amount: float, now: float) -> float:
        """Add (or, negative, take back) failures; the new level."""
        level = max(0.0, self.level(key, now) + amount)
        if level == 0.0:
            self._buckets.pop(key, None)
            return level
        self._buckets[key] = Bucket(level, now)
        self._buckets.move_to_end(key)
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        return level


@dataclass(frozen=True, slots=True)
class Throttled:
    """Why an attempt is refused, and when the client may try again."""

    reason: str  # "address" or "user"
    retry_after: int


class FailureThrottle:
    """Per-address and per-name allowances of failed authentications.

    A name is not throttled for an address it recently succeeded from: one
    guessing a user's password elsewhere must not lock that user out where
    they work (the address's own allowance still applies there)."""

    def __init__(
        self,
        per_address: int,
        per_user: int,
        window_seconds: float,
        trust_seconds: float = 3600.0,
    ) -> None:
        self.addresses = LeakyBuckets(per_address, window_seconds)
        self.names = LeakyBuckets(per_user, window_seconds)
        self.trust_seconds = trust_seconds
        self._trusted: OrderedDict[tuple[str, str], float] = OrderedDict()

    def check(self, address: str, name: str, now: float) -> Throttled | None:
        wait = self.addresses.retry_after(address, now)
        if wait is not None:
            return Throttled("address", math.ceil(wait))
        if self._is_trusted(address, name, now):
            return None
        wait = self.names.retry_after(name, now)
        if wait is not None:
            return Throttled("user", math.ceil(wait))
        return None

    def charge(self, address: str, name: str, now: float) -> bool:
        """Count one failure (or one attempt about to cost a verification);
        True if this filled a bucket, i.e. throttling starts now."""
        was_open = self.check(address, name, now) is None
        self.addresses.add(address, 1, now)
        self.names.add(name, 1, now)
        return was_open and self.check(address, name, now) is not None

    def refund(self, address: str, name: str, now: float) -> None:
        """Take back a charge: the attempt succeeded."""
        self.addresses.add(address, -1, now)
        self.names.add(name, -1, now)

    def trust(self, address: str, name: str, now: float) -> None:
        self._trusted[(address, name)] = now + self.trust_seconds
        self._trusted.move_to_end((address, name))
        while len(self._trusted) > MAX_KEYS:
            self._trusted.popitem(last=False)

    def _is_trusted(self, address: str, name: str, now: float) -> bool:
        until = self._trusted.get((address, name))
        if until is None:
            return False
        if until <= now:
            del self._trusted[(address, name)]
            return False
        return True
