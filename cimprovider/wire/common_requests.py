"""The common intrinsic requests, read without an XML parser.

Clients write the requests of a pull enumeration (OpenEnumerateInstances,
PullInstancesWithPath, CloseEnumeration, …) and GetInstance in one fixed
layout: pywbem's declaration or none, no white space between elements, a
namespace, values and key values of plain ASCII words. A body of exactly that layout is matched by a
few anchored patterns and made into its IntrinsicCall directly, at a
fraction of the cost of a parse and a walk over the tree.

Anything else is not recognised and goes to the hardened parser, which
answers it as always, errors included: another layout or encoding, an
entity or character reference, any character XML would treat specially
(white space, "&", "<" in values, bytes beyond ASCII), an unknown method
or parameter, a parameter given twice or missing, a value its type
refuses, a body the parse limits would refuse. What is recognised is
plain markup with nothing to interpret, so it reads exactly as the parser
reads it (tests/unit/wire/test_wire_small_documents.py checks both ways).
"""

from __future__ import annotations

import re
from typing import Any

from pywbem import CIMInstanceName

from cimprovider.wire.intrinsics import Intrinsic, Kind, find_intrinsic, find_parameter
from cimprovider.wire.iparams import uint32_of
from cimprovider.wire.messages import IntrinsicCall
from cimprovider.wire.safexml import ParseLimits
from cimprovider.wire.scalars import DecodeError, decode_boolean, decode_keyvalue

_PROLOG = re.compile(
    rb'(?:<\?xml version="1\.0" encoding="utf-8" \?>\n?)?'
    rb'<CIM CIMVERSION="2\.0" DTDVERSION="2\.0"><MESSAGE ID="([0-9]{1,20})" PROTOCOLVERSION="1\.0">'
    rb'<SIMPLEREQ><IMETHODCALL NAME="([A-Za-z]{1,64})"><LOCALNAMESPACEPATH>'
)
_NAMESPACE = re.compile(rb'<NAMESPACE NAME="([A-Za-z0-9_]{1,64})"/>')
_END_OF_NAMESPACE = b"</LOCALNAMESPACEPATH>"
# A key value's text: characters XML gives as they are, "<", "&", "]"
# (of "]]>"), ">" and carriage returns (read as line feeds) left out.
_KEY_TEXT = rb"[A-Za-z0-9_.:+\\/{}=,#@ -]{0,1024}"
_KEYBINDING = re.compile(
    rb'<KEYBINDING NAME="([A-Za-z0-9_]{1,256})"><KEYVALUE(?: VALUETYPE="([a-z]{1,16})")?(?: TYPE="([a-z0-9]{1,16})")?>'
    rb"(" + _KEY_TEXT + rb")</KEYVALUE></KEYBINDING>"
)
# A VALUE's text, a CLASSNAME's name, a VALUE.ARRAY of names, or an
# INSTANCENAME with its KEYBINDINGs.
_PARAMETER = re.compile(
    rb'<IPARAMVALUE NAME="([A-Za-z]{1,64})">'
    rb'(?:<VALUE>([A-Za-z0-9_.:+-]{0,256})</VALUE>'
    rb'|<CLASSNAME NAME="([A-Za-z0-9_]{1,256})"/>'
    rb"|<VALUE\.ARRAY>((?:<VALUE>[A-Za-z0-9_]{1,256}</VALUE>){0,64})</VALUE\.ARRAY>"
    rb'|<INSTANCENAME CLASSNAME="([A-Za-z0-9_]{1,256})">((?:' + _KEYBINDING.pattern + rb"){1,16})</INSTANCENAME>)"
    rb"</IPARAMVALUE>"
)
_ARRAY_ITEM = re.compile(rb"<VALUE>([A-Za-z0-9_]+)</VALUE>")
_EPILOG = re.compile(rb"</IMETHODCALL></SIMPLEREQ></MESSAGE></CIM>\n?")
# CIM, MESSAGE, SIMPLEREQ, IMETHODCALL, IPARAMVALUE, INSTANCENAME, KEYBINDING, KEYVALUE
_DEEPEST = 8


class _Unrecognised(Exception):
    """The body is left to the parser."""


def _converted(kind: Kind, match: re.Match[bytes]) -> Any:
    """The parameter's value, as iparams.convert_iparam makes it of the
    same element; _Unrecognised wherever that would refuse it."""
    text, classname, array, instance_class, bindings = match.group(2, 3, 4, 5, 6)
    try:
        if text is not None:
            value = text.decode("ascii")
            if kind is Kind.STRING:
                return value
            if kind is Kind.UINT32:
                return uint32_of(value)
            if kind is Kind.BOOLEAN:
                return decode_boolean(value)
            if kind is Kind.STRING_ARRAY:  # a lone VALUE reads as a one-item list
                return [value]
        elif classname is not None and kind is Kind.CLASSNAME:
            return classname.decode("ascii")
        elif array is not None and kind is Kind.STRING_ARRAY:
            return [item.decode("ascii") for item in _ARRAY_ITEM.findall(array)]
        elif instance_class is not None and kind in (Kind.INSTANCENAME, Kind.OBJECTNAME):
            return _instance_name(instance_class.decode("ascii"), bindings)
    except (DecodeError, ValueError, TypeError, KeyError):  # whatever the parser would make of it
        pass
    raise _Unrecognised


def _instance_name(classname: str, bindings: bytes) -> CIMInstanceName:
    """As decode_paths.instance_name makes it of the same INSTANCENAME."""
    keys: dict[Any, Any] = {}
    for name, valuetype, cimtype, text in _KEYBINDING.findall(bindings):
        keys[name.decode("ascii")] = decode_keyvalue(
            text.decode("ascii"), valuetype.decode("ascii") or None, cimtype.decode("ascii") or None
        )
    try:
        return CIMInstanceName(classname, keys, namespace=None, host=None)
    except (TypeError, ValueError):
        raise _Unrecognised from None


def _parameters(body: bytes, at: int, op: Intrinsic) -> tuple[dict[str, Any], int]:
    params: dict[str, Any] = {}
    while (match := _PARAMETER.match(body, at)) is not None:
        canonical = find_parameter(op, match.group(1).decode("ascii"))
        if canonical is None or canonical in params:
            raise _Unrecognised
        params[canonical] = _converted(op.params[canonical], match)
        at = match.end()
    return params, at


def _within(body: bytes, limits: ParseLimits) -> bool:
    # Every "<" of a recognised body opens or closes an element.
    return limits.max_depth >= _DEEPEST and body.count(b"<") - body.count(b"</") <= limits.max_elements


def recognise(body: bytes, limits: ParseLimits) -> IntrinsicCall | None:
    """The IntrinsicCall of a body in the common layout; None for any other."""
    prolog = _PROLOG.match(body)
    if prolog is None:
        return None
    op = find_intrinsic(prolog.group(2).decode("ascii"))
    if op is None:
        return None
    parts, at = [], prolog.end()
    while (part := _NAMESPACE.match(body, at)) is not None:
        parts.append(part.group(1).decode("ascii"))
        at = part.end()
    if not parts or not body.startswith(_END_OF_NAMESPACE, at):
        return None
    try:
        params, at = _parameters(body, at + len(_END_OF_NAMESPACE), op)
    except _Unrecognised:
        return None
    if _EPILOG.fullmatch(body, at) is None or not _within(body, limits):
        return None
    if any(params.get(name) is None for name in op.required):
        return None
    return IntrinsicCall(message_id=prolog.group(1).decode("ascii"), method=op.name, namespace="/".join(parts), params=params)
