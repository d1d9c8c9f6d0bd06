"""Instance operations: enumerate, get, create, modify, delete, and the
deprecated GetProperty/SetProperty that wbemcli still sends."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pywbem import (
    CIM_ERR_INVALID_PARAMETER,
    CIM_ERR_NO_SUCH_PROPERTY,
    CIMError,
    CIMInstance,
    CIMInstanceName,
    CIMProperty,
)
from pywbem import cimvalue

from cimprovider.cimom.context import Engine
from cimprovider.cimom.kept import Shaping, kept_instance, kept_instances
from cimprovider.cimom.shaping import property_filter, shape_instance
from cimprovider.providers.base import OperationContext, Pushdown, instance_not_found
from cimprovider.wire.messages import IntrinsicResult, KeptInstance


def required(params: dict[str, Any], name: str) -> Any:
    value = params.get(name)
    if value is None:
        raise CIMError(CIM_ERR_INVALID_PARAMETER, f"parameter {name} is required")
    return value


def instance_path_param(ctx: OperationContext, params: dict[str, Any], name: str) -> CIMInstanceName:
    path = required(params, name)
    if not isinstance(path, CIMInstanceName):
        raise CIMError(CIM_ERR_INVALID_PARAMETER, f"parameter {name} must be an instance path")
    path = path.copy()
    if path.namespace is None:
        path.namespace = ctx.namespace
    return path


def finish_path(path: CIMInstanceName, ctx: OperationContext, with_host: bool) -> CIMInstanceName:
    """Give a provider's path the namespace (and, for paths that leave in
    INSTANCEPATH form, the host) of the server."""
    if path.namespace is None or (with_host and path.host is None):
        path = path.copy()
        path.namespace = path.namespace or ctx.namespace
        if with_host:
            path.host = path.host or ctx.host
    return path


def iter_instances(
    engine: Engine,
    ctx: OperationContext,
    classname: str,
    *,
    deep_inheritance: bool = True,
    property_list: list[str] | None = None,
    include_class_origin: bool = False,
    pushdown: Pushdown | None = None,
    with_host: bool = False,
    kept: bool = False,
) -> Iterator[Any]:
    """Instances of `classname` and its subclasses, shaped as DSP0200 asks:
    with DeepInheritance false only the requested class's properties. The
    class is checked at once; the instances come lazily. With `kept` (and
    a caller whose writer keeps reply XML) a provider's keepable instances come as
    KeptRun items for the writer (stretches of instances it may answer
    from one kept list; a pull enumeration cuts them where a batch ends)."""
    repo = engine.repository
    classname = repo.canonical_classname(ctx.namespace, classname)
    requested = repo.get_class(ctx.namespace, classname)
    keep = property_filter(property_list)
    shaping = Shaping(requested, deep_inheritance, keep, include_class_origin, with_host)
    kept = kept and ctx.kept_replies and pushdown is None

    def generate() -> Iterator[Any]:
        for subclass in repo.subclasses(ctx.namespace, classname, include_self=True):
            provider = engine.providers.instance_provider(ctx.namespace, subclass)
            if provider is None:
                continue
            cls = repo.get_class(ctx.namespace, subclass) if deep_inheritance else requested
            keepable = provider.enumerate_keepable(ctx, subclass, keep) if kept else None
            if keepable is not None:
                yield from kept_instances(keepable, subclass, cls, shaping, ctx, shaped)
                continue
            for instance in provider.enumerate_instances(ctx, subclass, keep, pushdown):
                yield shaped(instance, cls, keep, include_class_origin, ctx, with_host)

    return generate()


def shaped(
    instance: CIMInstance,
    cls: Any,
    keep: frozenset[str] | None,
    include_class_origin: bool,
    ctx: OperationContext,
    with_host: bool,
) -> CIMInstance:
    instance = shape_instance(instance, cls, keep, include_class_origin)
    path = instance.path
    if path is not None and (path.namespace is None or (with_host and path.host is None)):
        instance.path = finish_path(path, ctx, with_host)
    return instance


def iter_instance_names(
    engine: Engine, ctx: OperationContext, classname: str, with_host: bool = False
) -> Iterator[CIMInstanceName]:
    repo = engine.repository
    classname = repo.canonical_classname(ctx.namespace, classname)

    def generate() -> Iterator[CIMInstanceName]:
        for subclass in repo.subclasses(ctx.namespace, classname, include_self=True):
            provider = engine.providers.instance_provider(ctx.namespace, subclass)
            if provider is None:
                continue
            for path in provider.enumerate_instance_names(ctx, subclass):
                yield finish_path(path, ctx, with_host)

    return generate()


def get_instance(
    engine: Engine,
    ctx: OperationContext,
    path: CIMInstanceName,
    property_list: list[str] | None = None,
    include_class_origin: bool = False,
    with_host: bool = False,
) -> CIMInstance:
    ctx, classname = engine.locate(ctx, path)
    cls = engine.repository.get_class(ctx.namespace, classname)
    provider = engine.instance_provider_for(ctx, classname)
    keep = property_filter(property_list)
    instance = provider.get_instance(ctx, path, keep)
    return shaped(instance, cls, keep, include_class_origin, ctx, with_host)


# --- operation handlers: (engine, ctx, params) -> IntrinsicResult ---------


def enumerate_instances(engine: Engine, ctx: OperationContext, p: dict[str, Any]) -> IntrinsicResult:
    instances = iter_instances(
        engine,
        ctx,
        required(p, "ClassName"),
        deep_inheritance=p.get("DeepInheritance", True),
        property_list=p.get("PropertyList"),
        include_class_origin=bool(p.get("IncludeClassOrigin", False)),
        kept=True,
    )
    return IntrinsicResult(value=instances)


def enumerate_instance_names(engine: Engine, ctx: OperationContext, p: dict[str, Any]) -> IntrinsicResult:
    return IntrinsicResult(value=iter_instance_names(engine, ctx, required(p, "ClassName")))


def get_instance_op(engine: Engine, ctx: OperationContext, p: dict[str, Any]) -> IntrinsicResult:
    path = instance_path_param(ctx, p, "InstanceName")
    property_list, include_class_origin = p.get("PropertyList"), bool(p.get("IncludeClassOrigin", False))
    if ctx.kept_replies:
        kept = _kept_instance(engine, ctx, path, property_list, include_class_origin)
        if kept is not None:
            return IntrinsicResult(value=kept)
    return IntrinsicResult(value=get_instance(engine, ctx, path, property_list, include_class_origin))


def _kept_instance(
    engine: Engine, ctx: OperationContext, path: CIMInstanceName, property_list: list[str] | None, include_class_origin: bool
) -> KeptInstance | None:
    """The instance as an item the writer may answer from kept XML, when
    its provider keeps it (a VM); None to build it."""
    located, classname = engine.locate(ctx, path)
    provider = engine.instance_provider_for(located, classname)
    keep = property_filter(property_list)
    keepable = provider.get_keepable(located, path, keep)
    if keepable is None:
        return None
    cls = engine.repository.get_class(located.namespace, classname)
    shaping = Shaping(cls, True, keep, include_class_origin, False)
    return kept_instance(keepable, classname, cls, shaping, located, shaped, lambda: instance_not_found(path))


def create_instance(engine: Engine, ctx: OperationContext, p: dict[str, Any]) -> IntrinsicResult:
    instance = required(p, "NewInstance")
    if not isinstance(instance, CIMInstance):
        raise CIMError(CIM_ERR_INVALID_PARAMETER, "parameter NewInstance must be an instance")
    classname = engine.repository.canonical_classname(ctx.namespace, instance.classname)
    check_properties(engine, ctx, classname, instance)
    provider = engine.instance_provider_for(ctx, classname)
    path = provider.create_instance(ctx, instance)
    return IntrinsicResult(value=finish_path(path, ctx, with_host=False))


def modify_instance(engine: Engine, ctx: OperationContext, p: dict[str, Any]) -> IntrinsicResult:
    instance = required(p, "ModifiedInstance")
    if not isinstance(instance, CIMInstance) or instance.path is None:
        raise CIMError(CIM_ERR_INVALID_PARAMETER, "parameter ModifiedInstance must be a named instance")
    ctx, classname = engine.locate(ctx, instance.path)
    check_properties(engine, ctx, classname, instance)
    provider = engine.instance_provider_for(ctx, classname)
    property_list = p.get("PropertyList")
    if property_list is not None:
        check_property_names(engine, ctx, classname, property_list)
    provider.modify_instance(ctx, instance, property_list)
    return IntrinsicResult()


def delete_instance(engine: Engine, ctx: OperationContext, p: dict[str, Any]) -> IntrinsicResult:
    path = instance_path_param(ctx, p, "InstanceName")
    ctx, classname = engine.locate(ctx, path)
    engine.instance_provider_for(ctx, classname).delete_instance(ctx, path)
    return IntrinsicResult()


def get_property(engine: Engine, ctx: OperationContext, p: dict[str, Any]) -> IntrinsicResult:
    path = instance_path_param(ctx, p, "InstanceName")
    name = required(p, "PropertyName")
    ctx, classname = engine.locate(ctx, path)
    decl = declared_property(engine, ctx, classname, name)
    instance = get_instance(engine, ctx, path, [decl.name])
    prop = instance.properties.get(decl.name)
    value = prop.value if prop is not None else None
    return IntrinsicResult(value=value, value_type=decl.type, embedded_object=decl.embedded_object)


def set_property(engine: Engine, ctx: OperationContext, p: dict[str, Any]) -> IntrinsicResult:
    path = instance_path_param(ctx, p, "InstanceName")
    name = required(p, "PropertyName")
    ctx, classname = engine.locate(ctx, path)
    decl = declared_property(engine, ctx, classname, name)
    value = typed_value(p.get("NewValue"), decl)
    change = CIMInstance(
        classname,
        properties=[
            CIMProperty(
                decl.name,
                value,
                type=decl.type,
                is_array=decl.is_array,
                reference_class=decl.reference_class,
                embedded_object=decl.embedded_object,
            )
        ],
        path=path,
    )
    engine.instance_provider_for(ctx, classname).modify_instance(ctx, change, [decl.name])
    return IntrinsicResult()


def declared_property(engine: Engine, ctx: OperationContext, classname: str, name: str) -> CIMProperty:
    cls = engine.repository.get_class(ctx.namespace, classname)
    decl = cls.properties.get(name)
    if decl is None:
        raise CIMError(CIM_ERR_NO_SUCH_PROPERTY, f"class {classname} has no property {name}")
    return decl


def check_property_names(engine: Engine, ctx: OperationContext, classname: str, names: list[str]) -> None:
    for name in names:
        declared_property(engine, ctx, classname, name)


def check_properties(engine: Engine, ctx: OperationContext, classname: str, instance: CIMInstance) -> None:
    """Every property the client sends must exist in the class; values that
    arrived untyped are typed from the declaration."""
    cls = engine.repository.get_class(ctx.namespace, classname)
    for name, prop in list(instance.properties.items()):
        decl = cls.properties.get(name)
        if decl is None:
            raise CIMError(CIM_ERR_NO_SUCH_PROPERTY, f"class {classname} has no property {name}")
        if prop.type != decl.type and prop.value is not None:
            instance.properties[name] = CIMProperty(
                decl.name,
                typed_value(prop.value, decl),
                type=decl.type,
                is_array=decl.is_array,
                reference_class=decl.reference_class,
                embedded_object=decl.embedded_object,
            )


def typed_value(value: Any, decl: CIMProperty) -> Any:
    """Convert a value that came untyped (wbemcli's SetProperty) to the
    declared type; a value that will not convert is CIM_ERR_TYPE_MISMATCH."""
    from pywbem import CIM_ERR_TYPE_MISMATCH

    if value is None or decl.type in ("reference",) and isinstance(value, CIMInstanceName):
        return value
    try:
        if decl.is_array:
            items = value if isinstance(value, list) else [value]
            return [cimvalue(v, decl.type) if isinstance(v, str) else v for v in items]
        if isinstance(value, str) and decl.type not in ("string", "char16"):
            return cimvalue(value.strip(), decl.type)
        return value
    except (ValueError, TypeError) as exc:
        raise CIMError(
            CIM_ERR_TYPE_MISMATCH, f"value {value!r} is not a valid {decl.type} for property {decl.name}: {exc}"
        ) from None
