"""Extrinsic method calls: find the method in the schema, type the input
parameters from its PARAMETER declarations (wbemcli sends no PARAMTYPE),
call the method provider, and keep only the output parameters the method
declares, typed as declared (pywbemcli crashes on anything else)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pywbem import (
    CIM_ERR_INVALID_PARAMETER,
    CIM_ERR_METHOD_NOT_FOUND,
    CIM_ERR_NOT_SUPPORTED,
    CIMClassName,
    CIMError,
    CIMInstance,
    CIMInstanceName,
    CIMMethod,
    CIMParameter,
    cimvalue,
)

from cimprovider.cimom.context import Engine
from cimprovider.providers.base import MethodProvider, OperationContext
from cimprovider.wire.messages import ExtrinsicCall, MethodResult, ParamValue


def find_method(engine: Engine, ctx: OperationContext, classname: str, method: str) -> CIMMethod:
    cls = engine.repository.get_class(ctx.namespace, classname)
    decl = cls.methods.get(method)
    if decl is None:
        raise CIMError(CIM_ERR_METHOD_NOT_FOUND, f"class {classname} has no method {method}")
    return decl


# Raises CIM_ERR_ACCESS_DENIED when the caller may not call the method of
# that provider (which declares the methods that only read).
Authorize = Callable[[MethodProvider, str], None]


def invoke(engine: Engine, ctx: OperationContext, call: ExtrinsicCall, authorize: Authorize) -> MethodResult:
    target = call.target
    classname = engine.repository.canonical_classname(ctx.namespace, target.classname)
    decl = find_method(engine, ctx, classname, call.method)
    is_static = bool(decl.qualifiers.get("Static") and decl.qualifiers["Static"].value)
    if isinstance(target, CIMClassName) and not is_static:
        raise CIMError(
            CIM_ERR_INVALID_PARAMETER,
            f"method {classname}.{decl.name} is not static: call it on an instance path",
        )
    provider = engine.providers.method_provider(ctx.namespace, classname)
    if provider is None:
        raise CIMError(CIM_ERR_NOT_SUPPORTED, f"method {classname}.{decl.name} is not implemented")
    authorize(provider, decl.name)
    params = typed_inputs(decl, call.params)
    provider_target: CIMInstanceName | str = classname if isinstance(target, CIMClassName) else target
    answer = provider.invoke_method(ctx, provider_target, decl.name, params)
    return MethodResult(
        return_type=decl.return_type,
        return_value=convert(answer.return_value, decl.return_type, False, decl.name),
        out_params=typed_outputs(decl, answer.out_params),
    )


def _is_in(param: CIMParameter) -> bool:
    qualifier = param.qualifiers.get("In")
    return qualifier is None or bool(qualifier.value)


def _is_out(param: CIMParameter) -> bool:
    qualifier = param.qualifiers.get("Out")
    return qualifier is not None and bool(qualifier.value)


def typed_inputs(decl: CIMMethod, given: tuple[ParamValue, ...]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for value in given:
        param = decl.parameters.get(value.name)
        if param is None or not _is_in(param):
            raise CIMError(
                CIM_ERR_INVALID_PARAMETER, f"method {decl.name} has no input parameter {value.name}"
            )
        params[param.name] = convert(value.value, param.type, param.is_array, param.name)
    return params


def typed_outputs(decl: CIMMethod, given: dict[str, Any]) -> list[tuple[str, str, Any, bool, str | None]]:
    out: list[tuple[str, str, Any, bool, str | None]] = []
    lowered = {k.lower(): v for k, v in given.items()}
    for param in decl.parameters.values():
        if not _is_out(param) or param.name.lower() not in lowered:
            continue
        value = convert(lowered[param.name.lower()], param.type, param.is_array, param.name)
        out.append((param.name, param.type, value, bool(param.is_array), embedding(param)))
    return out


def embedding(param: CIMParameter) -> str | None:
    if param.type != "string":
        return None
    if "EmbeddedInstance" in param.qualifiers:
        return "instance"
    if "EmbeddedObject" in param.qualifiers:
        return "object"
    return None


def convert(value: Any, cim_type: str, is_array: bool, name: str) -> Any:
    """Type a value as declared. Strings are parsed (wbemcli sends raw
    text); embedded instances stay CIMInstance; a value that does not fit
    its type is CIM_ERR_INVALID_PARAMETER naming the parameter."""
    if value is None:
        return None
    if is_array:
        items = value if isinstance(value, (list, tuple)) else [value]
        return [convert(item, cim_type, False, name) for item in items]
    if isinstance(value, (list, tuple)):
        raise CIMError(CIM_ERR_INVALID_PARAMETER, f"parameter {name} takes one {cim_type}, not an array")
    if isinstance(value, CIMInstance):  # embedded: declared as a string
        if cim_type != "string":
            raise CIMError(CIM_ERR_INVALID_PARAMETER, f"parameter {name} is a {cim_type}, not an embedded instance")
        return value
    if isinstance(value, (CIMInstanceName, CIMClassName)):
        if cim_type != "reference":
            raise CIMError(CIM_ERR_INVALID_PARAMETER, f"parameter {name} is a {cim_type}, not an object path")
        return value
    try:
        if cim_type == "reference":
            if isinstance(value, str):
                return CIMInstanceName.from_wbem_uri(value)
            raise TypeError("expected an object path")
        if isinstance(value, str) and cim_type not in ("string", "char16"):
            value = value.strip()
        return cimvalue(value, cim_type)
    except (ValueError, TypeError) as exc:
        raise CIMError(
            CIM_ERR_INVALID_PARAMETER, f"parameter {name}: {value!r} is not a valid {cim_type} ({exc})"
        ) from None
