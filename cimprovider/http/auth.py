"""Users, roles and their passwords: the users file.

Passwords are stored as salted scrypt hashes, deliberately slow to test;
`authenticator` checks requests against them without letting that cost
fall on the event loop."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
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


class InvalidUser(ValueError):
    """A user entry the file must not hold (its name, role or password)."""


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
            raise InvalidUser(f"role must be one of {', '.join(ROLES)}, not {role!r}")
        if not name or ":" in name:
            raise InvalidUser("a user name must be non-empty and contain no ':'")
        if not password:
            raise InvalidUser(f"user {name}: the password must not be empty (anyone could sign in as {name})")
        users = self.load()
        users[name] = User(name, role, hash_password(password))
        self.save(users)

    def remove(self, name: str) -> None:
        users = self.load()
        if name not in users:
            raise KeyError(f"no user {name!r} in {self.path}")
        del users[name]
        self.save(users)
