"""The class repository: the compiled schema, indexed for class operations.

Everything here is read-only after :meth:`ClassRepository.load`, so one
repository is shared by all worker threads without locking.

Objects returned (CIMClass, CIMMethod, CIMQualifierDeclaration) are the
repository's own: callers must not mutate them. :func:`shape_class` (the
GetClass/EnumerateClasses view) always builds a new class, and
:meth:`ClassRepository.copy_class` gives a private deep copy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pywbem import (
    CIM_ERR_INVALID_CLASS,
    CIM_ERR_INVALID_NAMESPACE,
    CIM_ERR_METHOD_NOT_FOUND,
    CIM_ERR_NOT_FOUND,
    CIMClass,
    CIMError,
    CIMMethod,
    CIMProperty,
    CIMQualifierDeclaration,
)

from .compiler import CompiledNamespace, default_mof_dir
from .schema_cache import load_schema
from .manifest import NAMESPACE_FILES


@dataclass
class _Namespace:
    name: str
    classes: dict[str, CIMClass]  # lower-case name -> class, in compile order
    qualifiers: dict[str, CIMQualifierDeclaration]  # lower-case name -> declaration
    children: dict[str, list[str]] = field(default_factory=dict)  # lower -> canonical names
    top: list[str] = field(default_factory=list)
    keys: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def build(cls, compiled: CompiledNamespace) -> "_Namespace":
        ns = cls(
            name=compiled.name,
            classes={c.classname.lower(): c for c in compiled.classes},
            qualifiers={q.name.lower(): q for q in compiled.qualifiers},
        )
        for c in compiled.classes:
            ns.children[c.classname.lower()] = []
        for c in compiled.classes:
            if c.superclass:
                ns.children[c.superclass.lower()].append(c.classname)
            else:
                ns.top.append(c.classname)
            ns.keys[c.classname.lower()] = [
                p.name for p in c.properties.values() if _is_key(p)]
        return ns


def _is_key(prop: CIMProperty) -> bool:
    q = prop.qualifiers.get("Key")
    return bool(q is not None and q.value)


class ClassRepository:
    """Classes and qualifier declarations per namespace, compiled from mof/."""

    def __init__(self, namespaces: dict[str, CompiledNamespace], *, from_cache: bool = False):
        self._namespaces = {name.lower(): _Namespace.build(c) for name, c in namespaces.items()}
        self.from_cache = from_cache
        """True when the classes came from the pickle cache rather than the compiler."""

    @classmethod
    def load(
        cls,
        cache_dir: Path | None = None,
        *,
        mof_dir: Path | None = None,
        manifest: dict[str, tuple[str, ...]] | None = None,
    ) -> "ClassRepository":
        """Compile the shipped MOF (or load it from cache_dir when unchanged).

        cache_dir None means no cache: compile every time. mof_dir and
        manifest default to the shipped ones; tests pass copies.
        """
        schema = load_schema(
            Path(mof_dir) if mof_dir else default_mof_dir(),
            manifest if manifest is not None else NAMESPACE_FILES,
            Path(cache_dir) if cache_dir else None,
        )
        return cls(schema.namespaces, from_cache=schema.from_cache)

    # ---- namespaces ----

    def namespaces(self) -> list[str]:
        return [ns.name for ns in self._namespaces.values()]

    def canonical_namespace(self, namespace: str) -> str:
        """The canonical spelling of namespace: any case, "/" or "\\", leading "/"."""
        return self._ns(namespace).name

    def has_namespace(self, namespace: str) -> bool:
        return _ns_key(namespace) in self._namespaces

    def _ns(self, namespace: str) -> _Namespace:
        try:
            return self._namespaces[_ns_key(namespace)]
        except (KeyError, AttributeError):
            raise CIMError(CIM_ERR_INVALID_NAMESPACE,
                           f"Namespace {namespace!r} does not exist") from None

    # ---- classes ----

    def _cls(self, namespace: str, classname: str) -> tuple[_Namespace, CIMClass]:
        ns = self._ns(namespace)
        try:
            return ns, ns.classes[classname.lower()]
        except (KeyError, AttributeError):
            raise CIMError(CIM_ERR_INVALID_CLASS,
                           f"Class {classname!r} does not exist in namespace {ns.name!r}"
                           ) from None

    def get_class(self, namespace: str, classname: str) -> CIMClass:
        """The fully resolved class: all properties (inherited ones with
        propagated=True and class_origin), methods and qualifiers.

        The repository's own object: do not mutate it (see copy_class).
        """
        return self._cls(namespace, classname)[1]

    def copy_class(self, namespace: str, classname: str) -> CIMClass:
        """A deep copy of get_class that the caller may change."""
        return self.get_class(namespace, classname).copy()

    def has_class(self, namespace: str, classname: str) -> bool:
        ns = self._ns(namespace)
        return isinstance(classname, str) and classname.lower() in ns.classes

    def canonical_classname(self, namespace: str, classname: str) -> str:
        return self._cls(namespace, classname)[1].classname

    def class_names(self, namespace: str, classname: str | None = None,
                    deep: bool = False) -> list[str]:
        """EnumerateClassNames: with classname, its direct subclasses (all
        descendants when deep); without, the top-level classes (all classes
        when deep). Superclasses always come before their subclasses.
        """
        ns = self._ns(namespace)
        if classname is None:
            if deep:
                return [c.classname for c in ns.classes.values()]
            return list(ns.top)
        _, cls = self._cls(namespace, classname)
        if not deep:
            return list(ns.children[cls.classname.lower()])
        return self.subclasses(namespace, classname, include_self=False)

    def subclasses(self, namespace: str, classname: str,
                   include_self: bool = True) -> list[str]:
        """All descendants of classname, depth first (a class before its subclasses)."""
        ns, cls = self._cls(namespace, classname)
        out: list[str] = [cls.classname] if include_self else []
        stack = list(reversed(ns.children[cls.classname.lower()]))
        while stack:
            name = stack.pop()
            out.append(name)
            stack.extend(reversed(ns.children[name.lower()]))
        return out

    def superclasses(self, namespace: str, classname: str) -> list[str]:
        """The superclass chain of classname, nearest first, without classname."""
        ns, cls = self._cls(namespace, classname)
        out: list[str] = []
        while cls.superclass:
            cls = ns.classes[cls.superclass.lower()]
            out.append(cls.classname)
        return out

    def is_subclass(self, namespace: str, classname: str, superclass: str) -> bool:
        """True when classname is superclass or derives from it (case-insensitive)."""
        ns, cls = self._cls(namespace, classname)
        target = superclass.lower()
        while True:
            if cls.classname.lower() == target:
                return True
            if not cls.superclass:
                return False
            cls = ns.classes[cls.superclass.lower()]

    def key_names(self, namespace: str, classname: str) -> list[str]:
        """The key property names of classname, in property order."""
        ns, cls = self._cls(namespace, classname)
        return list(ns.keys[cls.classname.lower()])

    def is_association(self, namespace: str, classname: str) -> bool:
        return _flag(self.get_class(namespace, classname), "Association")

    def is_indication(self, namespace: str, classname: str) -> bool:
        return _flag(self.get_class(namespace, classname), "Indication")

    def is_abstract(self, namespace: str, classname: str) -> bool:
        return _flag(self.get_class(namespace, classname), "Abstract")

    def reference_properties(self, namespace: str, classname: str) -> list[CIMProperty]:
        """The reference properties (roles) of an association class, in order."""
        cls = self.get_class(namespace, classname)
        return [p for p in cls.properties.values() if p.type == "reference"]

    def association_classes(self, namespace: str) -> list[str]:
        """All association classes of the namespace, superclasses first."""
        ns = self._ns(namespace)
        return [c.classname for c in ns.classes.values() if _flag(c, "Association")]

    def associations_for(self, namespace: str, classname: str) -> list[tuple[str, str]]:
        """(association class, role) pairs whose role can refer to an instance of classname.

        A role matches when its reference class is classname, a superclass of
        it or a subclass of it (an instance of a subclass may be the target).
        """
        ns, cls = self._cls(namespace, classname)
        related = {cls.classname.lower()}
        related.update(n.lower() for n in self.superclasses(namespace, cls.classname))
        related.update(n.lower() for n in self.subclasses(namespace, cls.classname))
        out = []
        for assoc in ns.classes.values():
            if not _flag(assoc, "Association"):
                continue
            for prop in assoc.properties.values():
                if prop.type == "reference" and prop.reference_class.lower() in related:
                    out.append((assoc.classname, prop.name))
        return out

    def method(self, namespace: str, classname: str, methodname: str) -> CIMMethod:
        """The method (with parameters and qualifiers); CIM_ERR_METHOD_NOT_FOUND if none."""
        cls = self.get_class(namespace, classname)
        try:
            return cls.methods[methodname]
        except (KeyError, AttributeError):
            raise CIMError(CIM_ERR_METHOD_NOT_FOUND,
                           f"Method {methodname!r} does not exist in class {cls.classname!r}"
                           ) from None

    # ---- qualifier declarations ----

    def get_qualifier(self, namespace: str, name: str) -> CIMQualifierDeclaration:
        ns = self._ns(namespace)
        try:
            return ns.qualifiers[name.lower()]
        except (KeyError, AttributeError):
            raise CIMError(CIM_ERR_NOT_FOUND,
                           f"Qualifier declaration {name!r} does not exist in namespace "
                           f"{ns.name!r}") from None

    def qualifiers(self, namespace: str) -> list[CIMQualifierDeclaration]:
        return list(self._ns(namespace).qualifiers.values())


def _ns_key(namespace: str) -> str:
    return namespace.replace("\\", "/").strip("/").lower()


def _flag(cls: CIMClass, qualifier: str) -> bool:
    q = cls.qualifiers.get(qualifier)
    return bool(q is not None and q.value)
