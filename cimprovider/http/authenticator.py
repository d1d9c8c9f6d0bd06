"""HTTP Basic authentication that a client cannot turn against the server.

- scrypt runs on a small executor of its own, never on the event loop and
  never on the CIM worker pool, so wrong passwords cannot stall others.
- A verified credential is remembered briefly as a keyed digest of the
  name, the password and the stored record: a changed password or a
  removed user stops working at once.
- Failures are throttled per client address and per user name; an unknown
  name costs a verification against a dummy record, exactly as a wrong
  password does, and is throttled alike, so neither time nor answers tell
  which names exist.

All state lives on the event loop's thread; only `verify_password` runs on
the executor."""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import logging
import os
import secrets
import time
from collections import Counter, OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from cimprovider.http.auth import SCRYPT_N, SCRYPT_P, SCRYPT_R, User, hash_password, verify_password
from cimprovider.http.throttle import FailureThrottle, address_key
from cimprovider.http.users_source import UsersSource

log = logging.getLogger("cimprovider.auth")

# Half the cores at most: a flood of checks must leave the event loop (and
# the CIM workers) a core to answer everyone else with.
VERIFY_THREADS = max(1, (os.cpu_count() or 2) // 2)
# Verifications waiting or running at most, whoever asks: beyond, answer
# 503 at once rather than queue scrypt work (and its memory) without end.
MAX_PENDING = 64
CACHE_SECONDS = 60.0
CACHE_SIZE = 4096


@dataclass(frozen=True, slots=True)
class Refusal:
    """An HTTP refusal: 401 (prove who you are), 429 (too many failures),
    503 (too many verifications under way)."""

    status: int
    message: str
    retry_after: int | None = None


@dataclass(frozen=True, slots=True)
class ThrottleSettings:
    # Each check under way counts until it ends: 60 lets that many clients
    # behind one address sign in at once with credentials of their own.
    per_address: int = 60
    per_user: int = 10
    window_seconds: float = 60.0


CHALLENGE = Refusal(401, "authentication required")
BUSY = Refusal(503, "too many authentications in progress; try again shortly", 1)
Outcome = User | Refusal


class Authenticator:
    """Checks `Authorization: Basic …` against a users file; no source means
    authentication is off (the server then only listens on loopback)."""

    def __init__(
        self,
        source: UsersSource | None,
        throttle: ThrottleSettings = ThrottleSettings(),
        clock: Callable[[], float] = time.monotonic,
        max_pending: int = MAX_PENDING,
    ) -> None:
        self.source = source
        self.max_pending = max_pending
        self.throttle = FailureThrottle(throttle.per_address, throttle.per_user, throttle.window_seconds)
        self.clock = clock
        self.verifications = 0  # scrypt runs started, for those who watch
        self._key = secrets.token_bytes(32)
        self._verified: OrderedDict[bytes, float] = OrderedDict()
        self._in_flight: dict[bytes, asyncio.Future[bool]] = {}
        # The users the cost parameters were read from, those parameters,
        # and the dummy record hashed with them.
        self._dummy_users: dict[str, User] | None = None
        self._dummy_cost: tuple[int, int, int] | None = None
        self._dummy: asyncio.Future[str] | None = None
        self._executor: ThreadPoolExecutor | None = None

    @property
    def enabled(self) -> bool:
        return self.source is not None

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)

    async def authenticate(self, authorization: str | None, address: str) -> Outcome:
        """The user the header proves, or the refusal to answer with."""
        if self.source is None:
            raise RuntimeError("authentication is off")
        credentials = basic_credentials(authorization)
        if credentials is None:
            return CHALLENGE  # no attempt at a password: nothing to throttle
        name, password = credentials
        address = address_key(address)
        now = self.clock()
        throttled = self.throttle.check(address, name, now)
        if throttled is not None:
            return Refusal(429, "too many failed authentications; try again later", throttled.retry_after)
        users = self.source.users()
        user = users.get(name)
        if user is not None:
            record = user.password_hash
            key = self._cache_key(name, password, record)
            if self._remembered(key, now):
                return user
        else:
            record = await self._dummy_record(users)
            key = self._cache_key(name, password, record)
        if len(self._in_flight) >= self.max_pending and key not in self._in_flight:
            return BUSY
        if await self._verify(key, password, record, address, name) and user is not None:
            self._remember(key)
            self.throttle.trust(address, name, self.clock())
            return user
        self._failed(address, name)
        return CHALLENGE

    async def _verify(self, key: bytes, password: str, record: str, address: str, name: str) -> bool:
        """Verify off the loop. Concurrent attempts with the same credentials
        share one verification; each one started is charged to the
        allowances up front (and refunded on success), so a burst cannot
        start more verifications than the allowances permit."""
        pending = self._in_flight.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        self.throttle.charge(address, name, self.clock())
        loop = asyncio.get_running_loop()
        self.verifications += 1
        future = loop.run_in_executor(self._pool(), verify_password, password, record)
        # Forgotten when the verification ends, not when its requester does:
        # a client that hangs up does not free a place while scrypt runs.
        self._in_flight[key] = future
        future.add_done_callback(lambda _: self._in_flight.pop(key, None))
        ok = await asyncio.shield(future)
        # The charge made room for this attempt; the failure, if any, is
        # counted by the caller like that of any request sharing it.
        self.throttle.refund(address, name, self.clock())
        return ok

    def _failed(self, address: str, name: str) -> None:
        now = self.clock()
        log.info("authentication failed for user %r from %s", name, address)
        if self.throttle.charge(address, name, now):
            throttled = self.throttle.check(address, name, now)
            if throttled is not None:
                scope = f"address {address}" if throttled.reason == "address" else f"user {name!r}"
                log.warning("too many failed authentications for %s: refusing it for %d s",
                            scope, throttled.retry_after)

    def _pool(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=VERIFY_THREADS, thread_name_prefix="auth-verify")
        return self._executor

    def _cache_key(self, name: str, password: str, record: str) -> bytes:
        message = b"\0".join((name.encode(), password.encode(), record.encode()))
        return hmac.new(self._key, message, hashlib.sha256).digest()

    def _remembered(self, key: bytes, now: float) -> bool:
        until = self._verified.get(key)
        if until is None:
            return False
        if until <= now:
            del self._verified[key]
            return False
        return True

    def _remember(self, key: bytes) -> None:
        self._verified[key] = self.clock() + CACHE_SECONDS
        while len(self._verified) > CACHE_SIZE:
            self._verified.popitem(last=False)

    async def _dummy_record(self, users: dict[str, User]) -> str:
        """A record no password matches, hashed with the parameters most
        users have, so that checking an unknown name costs what checking a
        known one does. Made again only when a reload changes those
        parameters, so the first unknown name after a reload costs no more."""
        if self._dummy_users is not users:
            self._dummy_users = users
            cost = _cost_parameters(users)
            if cost != self._dummy_cost or self._dummy is None:
                self._dummy_cost = cost
                n, r, p = cost
                loop = asyncio.get_running_loop()
                self._dummy = loop.run_in_executor(
                    self._pool(), lambda: hash_password(secrets.token_urlsafe(16), n=n, r=r, p=p)
                )
        return await asyncio.shield(self._dummy)


def _cost_parameters(users: dict[str, User]) -> tuple[int, int, int]:
    counts: Counter[tuple[int, int, int]] = Counter()
    for user in users.values():
        scheme, *rest = user.password_hash.split("$")
        if scheme == "scrypt" and len(rest) == 5 and all(part.isdigit() for part in rest[:3]):
            counts[(int(rest[0]), int(rest[1]), int(rest[2]))] += 1
    if counts:
        return counts.most_common(1)[0][0]
    return (SCRYPT_N, SCRYPT_R, SCRYPT_P)


def basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    if not authorization:
        return None
    scheme, _, encoded = authorization.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    name, sep, password = decoded.partition(":")
    return (name, password) if sep else None
