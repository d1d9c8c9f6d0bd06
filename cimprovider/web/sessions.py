"""Browser sessions of the web console.

A session is opened by a login (or, with authentication off, by the first
visit from loopback) and named by a random cookie value. The server keeps
only a digest of that value, so its memory never holds a usable cookie.
Each session carries its own CSRF token, which every change must echo.

A session lasts while it is used (idle expiry) and never longer than a
working day (absolute expiry). It also ends as soon as its user leaves the
users file or their password changes, and follows a change of role: the
users file stays the one truth about who may do what, as on the CIM port."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from cimprovider.cimom import Principal
from cimprovider.http.auth import User

COOKIE_NAME = "cimprovider-session"
IDLE_SECONDS = 30 * 60.0
LIFETIME_SECONDS = 12 * 3600.0
# Beyond this many live sessions the least recently used end, so a flood of
# logins cannot grow memory without bound.
MAX_SESSIONS = 4096
# Beyond this many of one user's, that user's least recently used end: a
# user signing in over and over (a reader will do) cannot push everyone
# else's sessions out of the bound above.
MAX_SESSIONS_PER_USER = 64


@dataclass(slots=True)
class Session:
    """One signed-in browser. `user` is None when authentication is off
    (the anonymous loopback admin, as on the CIM port)."""

    key: bytes  # digest of the cookie value
    user: str | None
    role: str
    csrf_token: str
    started: float
    seen: float
    # The password record the user signed in with: a new password ends it.
    credential: str = ""
    # What the last change said, shown once on the next page: a form posted
    # without htmx is answered with a redirect, and this crosses it.
    flash: tuple[str, bool] | None = None

    def may_write(self) -> bool:
        return self.role == "admin"

    def principal(self, address: str | None) -> Principal:
        """Who CIM operations run as for this session."""
        return Principal(self.user, self.role, address)

    def csrf_matches(self, token: str | None) -> bool:
        return token is not None and hmac.compare_digest(token.encode(), self.csrf_token.encode())


def _digest(cookie: str) -> bytes:
    return hashlib.sha256(cookie.encode()).digest()


class Sessions:
    """Live sessions, in memory: a restart signs everyone out, which is
    what one expects of a server that restarted.

    `users` gives the current users (the users file as reloaded on change),
    or is None when authentication is off."""

    def __init__(
        self,
        users: Callable[[], dict[str, User]] | None,
        clock: Callable[[], float] = time.monotonic,
        idle_seconds: float = IDLE_SECONDS,
        lifetime_seconds: float = LIFETIME_SECONDS,
        max_sessions: int = MAX_SESSIONS,
        max_sessions_per_user: int = MAX_SESSIONS_PER_USER,
    ) -> None:
        self.users = users
        self.clock = clock
        self.idle_seconds = idle_seconds
        self.lifetime_seconds = lifetime_seconds
        self.max_sessions = max_sessions
        self.max_sessions_per_user = max_sessions_per_user
        self._live: OrderedDict[bytes, Session] = OrderedDict()

    def __len__(self) -> int:
        return len(self._live)

    def open(self, user: User | None) -> tuple[str, Session]:
        """A new session for `user` (None: authentication off); the cookie
        value to hand to the browser, and the session."""
        cookie = secrets.token_urlsafe(32)
        now = self.clock()
        if user is None:
            session = Session(_digest(cookie), None, "admin", secrets.token_urlsafe(32), now, now)
        else:
            session = Session(_digest(cookie), user.name, user.role, secrets.token_urlsafe(32), now, now,
                              user.password_hash)
        self._end_oldest_of(session.user)
        self._live[session.key] = session
        while len(self._live) > self.max_sessions:
            self._live.popitem(last=False)
        return cookie, session

    def _end_oldest_of(self, user: str | None) -> None:
        """Make room for one more of `user`'s sessions among their own."""
        own = [key for key, session in self._live.items() if session.user == user]  # least recently used first
        for key in own[: max(0, len(own) - self.max_sessions_per_user + 1)]:
            del self._live[key]

    def find(self, cookie: str | None, touch: bool = True) -> Session | None:
        """The live session this cookie names, touched (unless `touch` is
        False: an open event stream is not the user at work); None if there
        is none, it expired, or its user is gone or changed password."""
        if not cookie:
            return None
        key = _digest(cookie)
        session = self._live.get(key)
        if session is None:
            return None
        now = self.clock()
        if now - session.seen > self.idle_seconds or now - session.started > self.lifetime_seconds:
            del self._live[key]
            return None
        if not self._still_valid(session):
            del self._live[key]
            return None
        if touch:
            session.seen = now
            self._live.move_to_end(key)
        return session

    def close(self, cookie: str | None) -> None:
        if cookie:
            self._live.pop(_digest(cookie), None)

    def _still_valid(self, session: Session) -> bool:
        if self.users is None:
            return session.user is None
        if session.user is None:
            return False  # opened while authentication was off
        user = self.users().get(session.user)
        if user is None or user.password_hash != session.credential:
            return False
        session.role = user.role
        return True
