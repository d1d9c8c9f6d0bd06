"""Request bodies into IntrinsicCall / ExtrinsicCall (DSP0200 §5.3, DSP0201).

Faults in the envelope are ProtocolErrors (an HTTP status and a CIMError
header, no CIM-XML answer possible); faults once the method is known are
CallErrors, answered as 200 + ERROR so the client sees a CIM status code.
"""

from __future__ import annotations

from typing import Any

from pywbem import CIM_ERR_INVALID_PARAMETER, CIM_ERR_NOT_SUPPORTED, CIMClassName, CIMError

from cimprovider.wire.common_requests import recognise
from cimprovider.wire.decode_paths import Element, class_name, instance_name, local_namespace
from cimprovider.wire.intrinsics import find_intrinsic, find_parameter
from cimprovider.wire.iparams import convert_iparam
from cimprovider.wire.messages import CallError, ExtrinsicCall, IntrinsicCall, ParamValue, ProtocolError, Request
from cimprovider.wire.mparams import convert_param, param_name
from cimprovider.wire.safexml import DEFAULT_LIMITS, ParseLimits, counts, parse_document
from cimprovider.wire.scalars import DecodeError


def _invalid(message: str) -> ProtocolError:
    return ProtocolError(400, "request-not-valid", message)


def _child(element: Element, tag: str) -> Element:
    kids = list(element)
    if len(kids) != 1 or kids[0].tag != tag:
        found = ", ".join(str(k.tag) for k in kids) or "nothing"
        raise _invalid(f"{element.tag} must hold {tag}, not {found}")
    return kids[0]


def _message(root: Element) -> Element:
    if root.tag != "CIM":
        raise _invalid(f"the document element is {root.tag}, not CIM")
    cim_version = root.get("CIMVERSION")
    if cim_version is None:
        raise _invalid("CIM has no CIMVERSION")
    if not cim_version.startswith("2."):
        raise ProtocolError(400, "unsupported-cim-version", f"CIMVERSION {cim_version} is not 2.x")
    dtd_version = root.get("DTDVERSION")
    if dtd_version is not None and not dtd_version.startswith("2."):
        raise ProtocolError(400, "unsupported-dtd-version", f"DTDVERSION {dtd_version} is not 2.x")
    message = _child(root, "MESSAGE")
    if message.get("ID") is None:
        raise _invalid("MESSAGE has no ID")
    protocol_version = message.get("PROTOCOLVERSION")
    if protocol_version is None:
        raise _invalid("MESSAGE has no PROTOCOLVERSION")
    if not protocol_version.startswith("1."):
        raise ProtocolError(
            400, "unsupported-protocol-version", f"PROTOCOLVERSION {protocol_version} is not 1.x"
        )
    return message


def _call(message: Element) -> Element:
    kids = list(message)
    if len(kids) == 1 and kids[0].tag == "MULTIREQ":
        raise ProtocolError(501, "multiple-requests-unsupported", "MULTIREQ is not supported")
    if len(kids) != 1 or kids[0].tag != "SIMPLEREQ":
        raise _invalid("MESSAGE must hold one SIMPLEREQ")
    # DSP0201 2.4 allows CORRELATORs before the call; they carry nothing we use.
    calls = [kid for kid in kids[0] if kid.tag != "CORRELATOR"]
    if len(calls) != 1 or calls[0].tag not in ("IMETHODCALL", "METHODCALL"):
        raise _invalid("SIMPLEREQ must hold one IMETHODCALL or METHODCALL")
    return calls[0]


def _invalid_parameter(message_id: str, method: str, intrinsic: bool, text: str) -> CallError:
    return CallError(message_id, method, intrinsic, CIMError(CIM_ERR_INVALID_PARAMETER, text))


def _intrinsic(call: Element, message_id: str) -> IntrinsicCall:
    sent_name = call.get("NAME")
    if not sent_name:
        raise _invalid("IMETHODCALL has no NAME")
    op = find_intrinsic(sent_name)
    if op is None:
        raise CallError(
            message_id,
            sent_name,
            True,
            CIMError(CIM_ERR_NOT_SUPPORTED, f"intrinsic method {sent_name} is not supported"),
        )
    kids = list(call)
    if not kids or kids[0].tag != "LOCALNAMESPACEPATH":
        raise _invalid(f"{op.name} has no LOCALNAMESPACEPATH")
    try:
        namespace = local_namespace(kids[0])
    except DecodeError as exc:
        raise _invalid(str(exc)) from None
    params: dict[str, Any] = {}
    for holder in kids[1:]:
        if holder.tag == "RESPONSEDESTINATION":
            continue
        if holder.tag != "IPARAMVALUE":
            raise _invalid(f"IMETHODCALL may not hold {holder.tag}")
        sent = holder.get("NAME") or ""
        canonical = find_parameter(op, sent)
        if canonical is None:
            raise _invalid_parameter(message_id, op.name, True, f"{op.name} has no parameter {sent!r}")
        if canonical in params:
            raise _invalid_parameter(message_id, op.name, True, f"parameter {canonical} is given twice")
        try:
            params[canonical] = convert_iparam(op.params[canonical], holder)
        except DecodeError as exc:
            raise _invalid_parameter(
                message_id, op.name, True, f"parameter {canonical} of {op.name}: {exc}"
            ) from None
    for name in sorted(op.required):
        if params.get(name) is None:
            raise _invalid_parameter(message_id, op.name, True, f"{op.name} requires parameter {name}")
    return IntrinsicCall(message_id=message_id, method=op.name, namespace=namespace, params=params)


def _target(path: Element, method: str) -> tuple[str, Any]:
    kids = list(path)
    try:
        if path.tag == "LOCALINSTANCEPATH" and len(kids) == 2:
            namespace = local_namespace(kids[0])
            return namespace, instance_name(kids[1], namespace)
        if path.tag == "LOCALCLASSPATH" and len(kids) == 2:
            namespace = local_namespace(kids[0])
            return namespace, CIMClassName(class_name(kids[1]), namespace=namespace)
    except DecodeError as exc:
        raise _invalid(f"target of {method}: {exc}") from None
    raise _invalid(f"METHODCALL {method} must start with LOCALINSTANCEPATH or LOCALCLASSPATH")


def _extrinsic(call: Element, message_id: str) -> ExtrinsicCall:
    method = call.get("NAME")
    if not method:
        raise _invalid("METHODCALL has no NAME")
    kids = list(call)
    if not kids:
        raise _invalid(f"METHODCALL {method} names no target")
    namespace, target = _target(kids[0], method)
    params: list[ParamValue] = []
    seen: set[str] = set()
    for holder in kids[1:]:
        if holder.tag == "RESPONSEDESTINATION":
            continue
        if holder.tag != "PARAMVALUE":
            raise _invalid(f"METHODCALL may not hold {holder.tag}")
        try:
            name = param_name(holder)
        except DecodeError as exc:
            raise _invalid(str(exc)) from None
        if name.lower() in seen:
            raise _invalid_parameter(message_id, method, False, f"parameter {name} is given twice")
        seen.add(name.lower())
        try:
            params.append(convert_param(holder))
        except DecodeError as exc:
            raise _invalid_parameter(message_id, method, False, f"parameter {name} of {method}: {exc}") from None
    return ExtrinsicCall(
        message_id=message_id, method=method, namespace=namespace, target=target, params=tuple(params)
    )


def parse_request(body: bytes, limits: ParseLimits = DEFAULT_LIMITS) -> Request:
    """Decode one CIM-XML operation request.

    Raises ProtocolError when the body cannot be answered in CIM-XML and
    CallError when it can (the method is known but a parameter is wrong, or
    the intrinsic method does not exist)."""
    if len(body) <= limits.small_document_bytes:
        call = recognise(body, limits)
        if call is not None:
            counts.recognised += 1
            return call
    message = _message(parse_document(body, limits))
    message_id = message.get("ID") or ""
    call = _call(message)
    if call.tag == "IMETHODCALL":
        return _intrinsic(call, message_id)
    return _extrinsic(call, message_id)
