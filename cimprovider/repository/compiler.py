"""Compile the shipped MOF into classes and qualifier declarations, with a cache.

pywbem_mock's FakedWBEMConnection drives pywbem's MOFCompiler: it checks
superclasses, reference and EmbeddedInstance classes, qualifier scopes and
overrides. The classes it saw are then resolved against their superclasses
by resolver.py, giving a plain :class:`CompiledSchema` of full classes,
which is what gets pickled.

The cache file name carries a hash of every MOF text, the manifest, the
pywbem version and :data:`CACHE_FORMAT`, so any change to one of them
misses the cache and recompiles; stale cache files are removed.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pywbem
from pywbem import CIMClass, CIMQualifierDeclaration

from .resolver import resolve_class

log = logging.getLogger(__name__)

CACHE_FORMAT = 3
"""Bump when the pickled structure changes."""

CACHE_PREFIX = "classes-"

KEPT_SCHEMAS = 4
"""Compiled schemas kept in one cache folder, the newest first: several
installations of different versions may share a user's cache, and each
would compile again at every start if one deleted the others' schema."""


@dataclass
class CompiledNamespace:
    """The resolved classes (in compile order) and qualifier declarations of one namespace."""

    name: str
    classes: list[CIMClass] = field(default_factory=list)
    qualifiers: list[CIMQualifierDeclaration] = field(default_factory=list)


@dataclass
class CompiledSchema:
    namespaces: dict[str, CompiledNamespace]
    digest: str
    from_cache: bool = False


class SchemaCompileError(Exception):
    """A MOF file failed to compile; the message names the file and the cause."""


def default_mof_dir() -> Path:
    from cimprovider import mof

    return Path(mof.__file__).resolve().parent


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "cimprovider"


def schema_digest(mof_dir: Path, manifest: dict[str, tuple[str, ...]]) -> str:
    h = hashlib.sha256()
    h.update(f"format={CACHE_FORMAT};pywbem={pywbem.__version__}\n".encode())
    texts: dict[str, bytes] = {}
    for namespace, files in manifest.items():
        h.update(f"ns={namespace}:{','.join(files)}\n".encode())
        for rel in files:
            if rel not in texts:
                texts[rel] = (mof_dir / rel).read_bytes()
    for rel in sorted(texts):
        h.update(f"file={rel}:{len(texts[rel])}\n".encode())
        h.update(texts[rel])
    return h.hexdigest()


def compile_schema(mof_dir: Path, manifest: dict[str, tuple[str, ...]]) -> CompiledSchema:
    """Compile every namespace of the manifest from the MOF files under mof_dir."""
    # Imported here: pywbem_mock is only needed on a cache miss.
    from pywbem_mock import FakedWBEMConnection

    digest = schema_digest(mof_dir, manifest)
    result: dict[str, CompiledNamespace] = {}
    for namespace, files in manifest.items():
        conn = FakedWBEMConnection(default_namespace=namespace)
        for rel in files:
            path = mof_dir / rel
            try:
                conn.compile_mof_file(str(path), namespace=namespace)
            except pywbem.MOFCompileError as exc:
                raise SchemaCompileError(
                    f"{rel} (namespace {namespace}): {exc.get_err_msg()}") from exc
            except pywbem.CIMError as exc:
                raise SchemaCompileError(f"{rel} (namespace {namespace}): {exc}") from exc
        qualifiers = list(conn.cimrepository.get_qualifier_store(namespace).iter_values())
        result[namespace] = CompiledNamespace(
            name=namespace,
            classes=_resolve_all(conn, namespace, qualifiers),
            qualifiers=qualifiers,
        )
    return CompiledSchema(namespaces=result, digest=digest)


def _resolve_all(conn, namespace: str,
                 qualifiers: list[CIMQualifierDeclaration]) -> list[CIMClass]:
    """Resolve every class from its local definition, in compile order.

    pywbem_mock has validated the classes (superclasses, references,
    qualifier scopes, overrides); its compiler connection keeps the local
    definitions as written in the MOF, which resolver.py turns into full
    classes (see there for why pywbem_mock's own resolution is not used).
    """
    local_classes = conn._mofwbemconnection.classes.get(namespace, {})
    decls = {q.name.lower(): q for q in qualifiers}
    resolved: dict[str, CIMClass] = {}
    for stored in conn.cimrepository.get_class_store(namespace).iter_values(copy=False):
        local = local_classes[stored.classname]
        sup = resolved[local.superclass.lower()] if local.superclass else None
        resolved[local.classname.lower()] = resolve_class(local, sup, decls)
    return list(resolved.values())


def write_cache(cache_file: Path, schema: CompiledSchema) -> bool:
    """Whether the cache file was written (a failure is logged)."""
    try:
        cache_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=cache_file.parent, prefix=".tmp-", suffix=".pickle")
        try:
            with os.fdopen(fd, "wb") as f:
                pickle.dump(schema, f, protocol=pickle.HIGHEST_PROTOCOL)
            # Atomic: concurrent server starts never see a half-written file.
            os.replace(tmp, cache_file)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        _drop_oldest(cache_file.parent)
    except OSError as exc:
        log.warning("cannot write class cache %s: %s", cache_file, exc)
        return False
    return True


def _drop_oldest(cache_dir: Path) -> None:
    """Deletes the compiled schemas beyond the KEPT_SCHEMAS newest."""
    def written(path: Path) -> float:
        try:
            return path.stat().st_mtime
        except FileNotFoundError:  # another server dropped it meanwhile
            return 0.0
    kept = sorted(cache_dir.glob(f"{CACHE_PREFIX}*.pickle"), key=written, reverse=True)
    for stale in kept[KEPT_SCHEMAS:]:
        stale.unlink(missing_ok=True)
