"""The compiled schema, from the class cache or compiled anew.

A hit loads the pickle; a miss is compiled in a child process
(compile_child.py), so that this process only loads the pickle, and in this
process when the child cannot, which reports a fault in the MOF as always.
"""

from __future__ import annotations

import logging
import os
import pickle
import stat
from pathlib import Path

from .compile_child import compile_apart
from .compiler import CACHE_PREFIX, CompiledSchema, compile_schema, schema_digest, write_cache

log = logging.getLogger(__name__)


def load_schema(
    mof_dir: Path,
    manifest: dict[str, tuple[str, ...]],
    cache_dir: Path | None,
) -> CompiledSchema:
    """Return the compiled schema, from cache_dir when a matching pickle exists.

    With cache_dir None nothing is read or written. A cache that cannot be
    read or written is logged and bypassed, never fatal.
    """
    digest = schema_digest(mof_dir, manifest)
    if cache_dir is not None and not _private(cache_dir):
        cache_dir = None
    cache_file = cache_dir / f"{CACHE_PREFIX}{digest[:32]}.pickle" if cache_dir else None
    if cache_file is not None and cache_file.is_file():
        schema = _read_cache(cache_file, digest)
        if schema is not None:
            return schema
    if cache_file is not None:
        # A miss is compiled in a child, so that this process only loads
        # the pickle (see compile_child.py); the schema it loads is the
        # one compiled, not a cache hit.
        if compile_apart(mof_dir, manifest, cache_file):
            schema = _read_cache(cache_file, digest)
            if schema is not None:
                schema.from_cache = False
                return schema
    schema = compile_schema(mof_dir, manifest)
    if cache_file is not None:
        write_cache(cache_file, schema)
    return schema


def _private(cache_dir: Path) -> bool:
    """Whether only this process's user can put a file in cache_dir (or it
    is not there yet: it is made so). A pickle runs code as it loads, so a
    schema another user could have written is never read."""
    try:
        info = cache_dir.stat()
    except FileNotFoundError:
        return True
    except OSError as exc:
        log.warning("not using class cache %s: %s", cache_dir, exc)
        return False
    if not _ours_alone(info):
        log.warning("not using class cache %s: it is not this user's alone (owner uid %d, mode %o); compiling the MOF",
                    cache_dir, info.st_uid, stat.S_IMODE(info.st_mode))
        return False
    return True


def _ours_alone(info: os.stat_result) -> bool:
    """Owned by this process's user, and no one else may write it."""
    return info.st_uid == os.geteuid() and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def _read_cache(cache_file: Path, digest: str) -> CompiledSchema | None:
    try:
        with cache_file.open("rb") as f:
            info = os.fstat(f.fileno())
            if not _ours_alone(info):
                log.warning("ignoring class cache %s: it is not this user's alone", cache_file)
                return None
            schema = pickle.load(f)
        if isinstance(schema, CompiledSchema) and schema.digest == digest:
            schema.from_cache = True
            return schema
        log.warning("ignoring class cache %s: it does not match the MOF", cache_file)
    except Exception as exc:  # a truncated or foreign file: recompile
        log.warning("ignoring unreadable class cache %s: %s", cache_file, exc)
    return None
