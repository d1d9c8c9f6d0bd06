"""Console tickets: the proof a console websocket carries that the page
which opens it belongs to the same session.

The browser sends the session cookie with any websocket it opens, and the
Origin check stops foreign pages; a ticket adds that the socket is opened
for the console it was asked for, by the session it was issued to, lately:
it names the session (by its key's digest), the VM and the console kind,
expires in a minute and is good once. A ticket copied from another user's
page is worthless with one's own cookie, and one's own cookie cannot be
used by someone else's page (the Origin check)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable
from uuid import UUID

TICKET_SECONDS = 60.0
MAX_REDEEMED = 65536  # remembered until they expire; a flood cannot grow this past it


class ConsoleTickets:
    def __init__(self, clock: Callable[[], float] = time.monotonic, lifetime: float = TICKET_SECONDS) -> None:
        self._secret = secrets.token_bytes(32)  # per process: a restart voids every ticket
        self._clock = clock
        self._lifetime = lifetime
        self._lock = threading.Lock()
        self._redeemed: dict[bytes, float] = {}

    def issue(self, session_key: bytes, vm_id: UUID, kind: str) -> str:
        expires = self._clock() + self._lifetime
        nonce = secrets.token_bytes(12)
        body = nonce + int(expires * 1000).to_bytes(8, "big")
        return base64.urlsafe_b64encode(body + self._mac(body, session_key, vm_id, kind)).decode().rstrip("=")

    def redeem(self, ticket: str, session_key: bytes, vm_id: UUID, kind: str) -> bool:
        """True once for a live ticket issued to this session for this console."""
        try:
            raw = base64.urlsafe_b64decode(ticket + "=" * (-len(ticket) % 4))
        except (ValueError, TypeError):
            return False
        body, mac = raw[:20], raw[20:]
        if len(body) != 20 or not hmac.compare_digest(mac, self._mac(body, session_key, vm_id, kind)):
            return False
        expires = int.from_bytes(body[12:], "big") / 1000
        now = self._clock()
        if now >= expires:
            return False
        with self._lock:
            self._forget_expired(now)
            if body in self._redeemed or len(self._redeemed) >= MAX_REDEEMED:
                return False
            self._redeemed[body] = expires
        return True

    def _mac(self, body: bytes, session_key: bytes, vm_id: UUID, kind: str) -> bytes:
        bound = body + hashlib.sha256(session_key).digest() + vm_id.bytes + kind.encode()
        return hmac.new(self._secret, bound, hashlib.sha256).digest()

    def _forget_expired(self, now: float) -> None:
        if len(self._redeemed) < 1024:
            return
        self._redeemed = {body: expires for body, expires in self._redeemed.items() if expires > now}
