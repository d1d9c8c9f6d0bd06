"""Association traversal: References and ReferenceNames come from the
association providers; Associators and AssociatorNames follow the other
ends of what References finds. Both work on instances and, from the schema,
on classes."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from functools import lru_cache
from typing import Any

from pywbem import CIM_ERR_NOT_FOUND, CIMClass, CIMClassName, CIMError, CIMInstance, CIMInstanceName

from cimprovider.cimom.context import Engine
from cimprovider.cimom.instances import finish_path, get_instance, required, shaped
from cimprovider.cimom.shaping import property_filter
from cimprovider.providers.base import OperationContext
from cimprovider.providers.paths import path_key
from cimprovider.repository import ClassRepository, shape_class
from cimprovider.wire.messages import IntrinsicResult


@lru_cache(maxsize=64)
def _association_classes(repo: ClassRepository, namespace: str) -> tuple[str, ...]:
    names = repo.class_names(namespace, None, deep=True)
    return tuple(n for n in names if _is_association(repo.get_class(namespace, n)))


def _is_association(cls: CIMClass) -> bool:
    qualifier = cls.qualifiers.get("Association")
    return bool(qualifier is not None and qualifier.value)


def association_classes(engine: Engine, ctx: OperationContext, assoc_class: str | None) -> list[str]:
    every = _association_classes(engine.repository, ctx.namespace)
    if assoc_class is None:
        return list(every)
    assoc_class = engine.repository.canonical_classname(ctx.namespace, assoc_class)
    return [n for n in every if engine.repository.is_subclass(ctx.namespace, n, assoc_class)]


def _object_name(ctx: OperationContext, p: dict[str, Any]) -> CIMInstanceName | str:
    target = required(p, "ObjectName")
    if isinstance(target, CIMClassName):
        return target.classname
    if isinstance(target, CIMInstanceName):
        target = target.copy()
        target.namespace = target.namespace or ctx.namespace
    return target


def iter_references(
    engine: Engine, ctx: OperationContext, target: CIMInstanceName, assoc_class: str | None, role: str | None
) -> Iterator[CIMInstance]:
    engine.locate(ctx, target)  # the target's class must exist: checked at once
    classnames = association_classes(engine, ctx, assoc_class)

    def generate() -> Iterator[CIMInstance]:
        for classname in classnames:
            provider = engine.providers.association_provider(ctx.namespace, classname)
            if provider is not None:
                yield from provider.references(ctx, classname, target, role)

    return generate()


def iter_associated_paths(
    engine: Engine,
    ctx: OperationContext,
    target: CIMInstanceName,
    p: dict[str, Any],
) -> Iterator[CIMInstanceName]:
    """The far ends of every association that points at `target`, once each."""
    role = p.get("Role")
    return _far_ends(engine, ctx, target, iter_references(engine, ctx, target, p.get("AssocClass"), role), p)


def _far_ends(
    engine: Engine, ctx: OperationContext, target: CIMInstanceName, assocs: Iterator[CIMInstance], p: dict[str, Any]
) -> Iterator[CIMInstanceName]:
    role, result_role, result_class = p.get("Role"), p.get("ResultRole"), p.get("ResultClass")
    seen: set[tuple[Any, ...]] = set()
    own = path_key(target)
    for assoc in assocs:
        for name, prop in assoc.properties.items():
            if prop.type != "reference" or prop.value is None:
                continue
            if role is not None and name.lower() == role.lower():
                continue
            if result_role is not None and name.lower() != result_role.lower():
                continue
            far: CIMInstanceName = prop.value
            if role is None and path_key(far) == own:
                continue
            far = far.copy()
            far.namespace = far.namespace or ctx.namespace
            if result_class is not None and not _is_a(engine, far, result_class):
                continue
            key = path_key(far, with_namespace=True)
            if key not in seen:
                seen.add(key)
                yield far


def _is_a(engine: Engine, path: CIMInstanceName, classname: str) -> bool:
    repo = engine.repository
    namespace = repo.canonical_namespace(path.namespace)
    if not repo.has_class(namespace, path.classname) or not repo.has_class(namespace, classname):
        return False
    return repo.is_subclass(namespace, path.classname, classname)


def _filter_assocs(
    engine: Engine, ctx: OperationContext, target: CIMInstanceName, p: dict[str, Any]
) -> Iterator[CIMInstance]:
    return iter_references(engine, ctx, target, p.get("ResultClass"), p.get("Role"))


# --- handlers ---------------------------------------------------------------


def references(engine: Engine, ctx: OperationContext, p: dict[str, Any]) -> IntrinsicResult:
    target = _object_name(ctx, p)
    if isinstance(target, str):
        return IntrinsicResult(value=class_references(engine, ctx, target, p, names_only=False))
    keep = property_filter(p.get("PropertyList"))
    origin = bool(p.get("IncludeClassOrigin", False))

    def answer() -> Iterator[CIMInstance]:
        for assoc in _filter_assocs(engine, ctx, target, p):
            cls = engine.repository.get_class(ctx.namespace, assoc.classname)
            yield shaped(assoc, cls, keep, origin, ctx, with_host=True)

    return IntrinsicResult(value=answer())


def reference_names(engine: Engine, ctx: OperationContext, p: dict[str, Any]) -> IntrinsicResult:
    target = _object_name(ctx, p)
    if isinstance(target, str):
        return IntrinsicResult(value=class_references(engine, ctx, target, p, names_only=True))
    paths = (finish_path(a.path, ctx, with_host=True) for a in _filter_assocs(engine, ctx, target, p))
    return IntrinsicResult(value=paths)


def associators(engine: Engine, ctx: OperationContext, p: dict[str, Any]) -> IntrinsicResult:
    target = _object_name(ctx, p)
    if isinstance(target, str):
        return IntrinsicResult(value=class_associators(engine, ctx, target, p, names_only=False))
    property_list, origin = p.get("PropertyList"), bool(p.get("IncludeClassOrigin", False))
    instances = _still_there(
        lambda far: get_instance(engine, ctx, far, property_list, origin, with_host=True),
        iter_associated_paths(engine, ctx, target, p),
    )
    return IntrinsicResult(value=instances)


def _still_there(get: Callable[[CIMInstanceName], CIMInstance], paths: Iterable[CIMInstanceName]) -> Iterator[CIMInstance]:
    """The far ends' instances, without those that vanished between the
    association naming them and their reading (a VM destroyed meanwhile):
    an instance gone during an enumeration is simply not returned."""
    for far in paths:
        try:
            yield get(far)
        except CIMError as error:
            if error.status_code != CIM_ERR_NOT_FOUND:
                raise


def associator_names(engine: Engine, ctx: OperationContext, p: dict[str, Any]) -> IntrinsicResult:
    target = _object_name(ctx, p)
    if isinstance(target, str):
        return IntrinsicResult(value=class_associators(engine, ctx, target, p, names_only=True))
    paths = (finish_path(far, ctx, with_host=True) for far in iter_associated_paths(engine, ctx, target, p))
    return IntrinsicResult(value=paths)


# --- schema-level traversal ---------------------------------------------------


def _class_ends(engine: Engine, ctx: OperationContext, classname: str, p: dict[str, Any]):
    """(association class, far reference property) pairs whose near end can
    hold an instance of `classname`."""
    repo = engine.repository
    classname = repo.canonical_classname(ctx.namespace, classname)
    role, result_role = p.get("Role"), p.get("ResultRole")
    assoc_filter = p.get("AssocClass") if "AssocClass" in p else p.get("ResultClass")
    for assoc_name in association_classes(engine, ctx, assoc_filter):
        refs = [prop for prop in repo.get_class(ctx.namespace, assoc_name).properties.values() if prop.type == "reference"]
        for near in refs:
            if role is not None and near.name.lower() != role.lower():
                continue
            if near.reference_class and not _class_fits(repo, ctx.namespace, classname, near.reference_class):
                continue
            for far in refs:
                if far is near or (result_role is not None and far.name.lower() != result_role.lower()):
                    continue
                yield assoc_name, far


def _class_fits(repo: ClassRepository, namespace: str, classname: str, reference_class: str) -> bool:
    if not repo.has_class(namespace, reference_class):
        return False
    return repo.is_subclass(namespace, classname, reference_class) or repo.is_subclass(
        namespace, reference_class, classname
    )


def _class_result(engine: Engine, ctx: OperationContext, name: str, p: dict[str, Any], names_only: bool):
    path = CIMClassName(name, namespace=ctx.namespace, host=ctx.host)
    if names_only:
        return path
    cls = shape_class(
        engine.repository.get_class(ctx.namespace, name),
        local_only=False,
        include_qualifiers=bool(p.get("IncludeQualifiers", False)),
        include_class_origin=bool(p.get("IncludeClassOrigin", False)),
        property_list=p.get("PropertyList"),
    )
    cls.path = path
    return cls


def class_references(engine: Engine, ctx: OperationContext, classname: str, p: dict[str, Any], names_only: bool):
    names = dict.fromkeys(assoc for assoc, _ in _class_ends(engine, ctx, classname, p))
    return [_class_result(engine, ctx, n, p, names_only) for n in names]


def class_associators(engine: Engine, ctx: OperationContext, classname: str, p: dict[str, Any], names_only: bool):
    repo = engine.repository
    result_class = p.get("ResultClass")
    names: dict[str, None] = {}
    for _, far in _class_ends(engine, ctx, classname, {**p, "ResultClass": None}):
        target = far.reference_class
        if not target or not repo.has_class(ctx.namespace, target):
            continue
        target = repo.canonical_classname(ctx.namespace, target)
        if result_class is None or repo.is_subclass(ctx.namespace, target, result_class):
            names[target] = None
    return [_class_result(engine, ctx, n, p, names_only) for n in names]
