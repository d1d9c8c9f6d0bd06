"""Class and qualifier operations, answered from the compiled schema. The
schema is the product's: class and qualifier writes are refused."""

from __future__ import annotations

from typing import Any

from pywbem import CIM_ERR_NOT_SUPPORTED, CIMError

from cimprovider.cimom.context import Engine
from cimprovider.cimom.instances import required
from cimprovider.providers.base import OperationContext
from cimprovider.repository import shape_class
from cimprovider.wire.messages import IntrinsicResult


def _shape(p: dict[str, Any], local_only_default: bool, include_qualifiers_default: bool):
    def shape(cls):
        return shape_class(
            cls,
            local_only=bool(p.get("LocalOnly", local_only_default)),
            include_qualifiers=bool(p.get("IncludeQualifiers", include_qualifiers_default)),
            include_class_origin=bool(p.get("IncludeClassOrigin", False)),
            property_list=p.get("PropertyList"),
        )

    return shape


def get_class(engine: Engine, ctx: OperationContext, p: dict[str, Any]) -> IntrinsicResult:
    cls = engine.repository.get_class(ctx.namespace, required(p, "ClassName"))
    return IntrinsicResult(value=_shape(p, True, True)(cls))


def enumerate_classes(engine: Engine, ctx: OperationContext, p: dict[str, Any]) -> IntrinsicResult:
    shape = _shape(p, True, True)
    names = _names(engine, ctx, p)
    repo = engine.repository
    return IntrinsicResult(value=(shape(repo.get_class(ctx.namespace, n)) for n in names))


def enumerate_class_names(engine: Engine, ctx: OperationContext, p: dict[str, Any]) -> IntrinsicResult:
    return IntrinsicResult(value=_names(engine, ctx, p))


def _names(engine: Engine, ctx: OperationContext, p: dict[str, Any]) -> list[str]:
    classname = p.get("ClassName")
    if classname is not None:
        classname = engine.repository.canonical_classname(ctx.namespace, classname)
    return engine.repository.class_names(ctx.namespace, classname, deep=bool(p.get("DeepInheritance", False)))


def get_qualifier(engine: Engine, ctx: OperationContext, p: dict[str, Any]) -> IntrinsicResult:
    return IntrinsicResult(value=engine.repository.get_qualifier(ctx.namespace, required(p, "QualifierName")))


def enumerate_qualifiers(engine: Engine, ctx: OperationContext, p: dict[str, Any]) -> IntrinsicResult:
    return IntrinsicResult(value=engine.repository.qualifiers(ctx.namespace))


def refuse_schema_change(engine: Engine, ctx: OperationContext, p: dict[str, Any]) -> IntrinsicResult:
    raise CIMError(
        CIM_ERR_NOT_SUPPORTED,
        f"the schema of namespace {ctx.namespace} is fixed: classes and qualifier declarations cannot be changed",
    )
