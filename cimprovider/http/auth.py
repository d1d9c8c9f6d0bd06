"""Users, roles and HTTP Basic authentication.

Passwords are stored as salted scrypt hashes, deliberately slow to test.
Since every CIM request carries Basic credentials, a verified credential is
remembered (as a keyed digest, never the password) so that only the first
request of a client pays the scrypt cost."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path

ROLES = ("reader", "admin")
# scrypt cost: about 50 ms and 16 MiB per verification on a current core.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1


@dataclass(frozen=True, slots=True)
class User:
    name: str
    role: str
    password_hash: str


def hash_password(password: str, *, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, dklen=32)
    return f"scrypt${n}${r}${p}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        computed = hashlib.scrypt(
            password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p), dklen=32
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(computed.hex(), digest)


class UsersFile:
    """The users file: JSON {"users": {name: {"role": …, "password": hash}}},
    written atomically with mode 0600."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def load(self) -> dict[str, User]:
        if not self.path.exists():
            return {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return {
                name: User(name, entry["role"], entry["password"]) for name, entry in data.get("users", {}).items()
            }
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"users file {self.path} is not valid: {exc}") from None

    def save(self, users: dict[str, User]) -> None:
        data = {"users": {u.name: {"role": u.role, "password": u.password_hash} for u in users.values()}}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=2, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)

    def add(self, name: str, password: str, role: str) -> None:
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
        if not name or ":" in name:
            raise ValueError("a user name must be non-empty and contain no ':'")
        users = self.load()
        users[name] = User(name, role, hash_password(password))
        self.save(users)

    def remove(self, name: str) -> None:
        users = self.load()
        if name not in users:
            raise KeyError(f"no user {name!r} in {self.path}")
        del users[name]
        self.save(users)


class Authenticator:
    """Checks `Authorization: Basic …` against the users; `None` users means
    authentication is off (the server then only listens on loopback)."""

    def __init__(self, users: dict[str, User] | None) -> None:
        self.users = users
        self._key = secrets.token_bytes(32)
        self._verified: dict[str, bytes] = {}
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.users is not None

    def authenticate(self, authorization: str | None) -> User | None:
        """The user the header proves, or None if it proves nobody."""
        if self.users is None:
            return None
        credentials = _basic_credentials(authorization)
        if credentials is None:
            return None
        name, password = credentials
        user = self.users.get(name)
        if user is None:
            return None
        token = hmac.new(self._key, f"{name}:{password}".encode(), hashlib.sha256).digest()
        with self._lock:
            if hmac.compare_digest(self._verified.get(name, b""), token):
                return user
        if not verify_password(password, user.password_hash):
            return None
        with self._lock:
            self._verified[name] = token
        return user


def _basic_credentials(authorization: str | None) -> tuple[str, str] | None:
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
