"""The users file as the server sees it while running: read again whenever
it changes, so that a removed user or a changed password takes effect on
the next request rather than at the next restart."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from cimprovider.http.auth import User, UsersFile

log = logging.getLogger("cimprovider.auth")

# What identifies one version of the file: a replacement (`user add` writes
# a new file and renames it) changes the inode, an edit in place the size
# or the change time.
Signature = tuple[int, int, int, int, int]
MISSING: Signature = (0, 0, 0, 0, 0)


def file_signature(path: Path) -> Signature:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return MISSING
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


class UsersSource:
    """The users of a file, reloaded when its signature changes (one stat
    per look, no read). A file that cannot be parsed keeps the last good
    users; a file that is gone means nobody, since deleting it is how one
    might revoke everyone."""

    def __init__(self, path: Path) -> None:
        self.file = UsersFile(path)
        self._signature = file_signature(path)
        # At start a broken file is an error the caller reports.
        self._users = self.file.load()

    @property
    def path(self) -> Path:
        return self.file.path

    def users(self) -> dict[str, User]:
        signature = file_signature(self.path)
        if signature != self._signature:
            self._signature = signature
            self._reload(signature)
        return self._users

    def _reload(self, signature: Signature) -> None:
        if signature == MISSING:
            log.error("users file %s is gone: nobody can authenticate until it is back", self.path)
            self._users = {}
            return
        try:
            users = self.file.load()
        except (ValueError, OSError) as error:
            log.error("users file %s changed but cannot be used (%s); keeping the %d users read before",
                      self.path, error, len(self._users))
            return
        log.info("users file %s reloaded: %d users", self.path, len(users))
        self._users = users
