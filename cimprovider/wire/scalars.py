"""CIM scalar values as CIM-XML text, both ways (DSP0201 §3.2 value syntax).

Decoding raises DecodeError with a message naming what is wrong; the caller
adds which parameter or property held the value.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from pywbem import CIMDateTime, CIMInstanceName, CIMClassName, Real32, Real64, type_from_name

NUMERIC_TYPES = frozenset(
    ("uint8", "sint8", "uint16", "sint16", "uint32", "sint32", "uint64", "sint64", "real32", "real64")
)
SCALAR_TYPES = NUMERIC_TYPES | {"string", "char16", "boolean", "datetime"}
CIM_TYPES = SCALAR_TYPES | {"reference"}

_INTEGER = re.compile(r"[+-]?(?:0[xX][0-9a-fA-F]+|[0-9]+)\Z")


class DecodeError(ValueError):
    """A value or element that does not mean what CIM-XML says it must."""


def decode_boolean(text: str) -> bool:
    word = text.strip().lower()
    if word == "true":
        return True
    if word == "false":
        return False
    raise DecodeError(f"{text!r} is not a boolean (TRUE or FALSE)")


def decode_integer(text: str, cimtype: str | None) -> Any:
    digits = text.strip()
    if not _INTEGER.match(digits):
        raise DecodeError(f"{text!r} is not an integer")
    number = int(digits, 16) if "x" in digits[:3].lower() else int(digits)
    if cimtype is None:
        return number
    try:
        return type_from_name(cimtype)(number)
    except ValueError:
        raise DecodeError(f"{text!r} is out of range for {cimtype}") from None


def decode_real(text: str, cimtype: str) -> Any:
    try:
        number = float(text.strip())
    except ValueError:
        raise DecodeError(f"{text!r} is not a real number") from None
    return Real32(number) if cimtype == "real32" else Real64(number)


def decode_scalar(text: str, cimtype: str) -> Any:
    """The pywbem value of `text` as a `cimtype` (any type but reference)."""
    if cimtype == "string":
        return text
    if cimtype == "boolean":
        return decode_boolean(text)
    if cimtype in ("real32", "real64"):
        return decode_real(text, cimtype)
    if cimtype in NUMERIC_TYPES:
        return decode_integer(text, cimtype)
    if cimtype == "datetime":
        try:
            return CIMDateTime(text.strip())
        except ValueError as exc:
            raise DecodeError(f"{text!r} is not a CIM datetime: {exc}") from None
    if cimtype == "char16":
        if len(text) != 1 or ord(text) > 0xFFFF:
            raise DecodeError(f"{text!r} is not a single UCS-2 character")
        return text
    raise DecodeError(f"{cimtype!r} is not a CIM scalar type")


def decode_keyvalue(text: str, valuetype: str | None, cimtype: str | None) -> Any:
    """A KEYVALUE: TYPE decides when present (DTD 2.4); otherwise VALUETYPE,
    whose "numeric" gives a plain int or float because the width is unknown."""
    if cimtype:
        return decode_scalar(text, cimtype)
    if valuetype in (None, "string"):
        return text
    if valuetype == "boolean":
        return decode_boolean(text)
    if valuetype == "numeric":
        try:
            return decode_integer(text, None)
        except DecodeError:
            try:
                return float(text.strip())
            except ValueError:
                raise DecodeError(f"{text!r} is not a number") from None
    raise DecodeError(f"VALUETYPE {valuetype!r} is not string, boolean or numeric")


# --- writing -------------------------------------------------------------

# Characters XML 1.0 cannot carry at all, not even as character references
# (expat, under pywbem, rejects "&#1;"). They are replaced by U+FFFD so the
# response stays readable by every client and the loss is visible.
_FORBIDDEN = "".join(chr(c) for c in range(0x20) if c not in (0x09, 0x0A, 0x0D)) + "\ufffe\uffff"
_TEXT_TABLE = {ord(c): "\ufffd" for c in _FORBIDDEN}
_TEXT_TABLE.update({ord("&"): "&amp;", ord("<"): "&lt;", ord(">"): "&gt;", 0x0D: "&#13;"})
_TEXT_TABLE.update({c: "\ufffd" for c in range(0xD800, 0xE000)})
# Attribute values also lose tabs and newlines to whitespace normalisation.
_ATTR_TABLE = dict(_TEXT_TABLE)
_ATTR_TABLE.update({ord('"'): "&quot;", 0x09: "&#9;", 0x0A: "&#10;"})

_TEXT_SPECIAL = re.compile("[&<>\r" + re.escape(_FORBIDDEN) + "\ud800-\udfff]")
_ATTR_SPECIAL = re.compile("[&<>\"\t\n\r" + re.escape(_FORBIDDEN) + "\ud800-\udfff]")


def escape_text(text: str) -> str:
    if _TEXT_SPECIAL.search(text) is None:
        return text
    return text.translate(_TEXT_TABLE)


def escape_attr(text: str) -> str:
    if _ATTR_SPECIAL.search(text) is None:
        return text
    return text.translate(_ATTR_TABLE)


def _real_text(number: float) -> str:
    # repr is the shortest text that reads back to the same double; DSP0201
    # spells the special values INF, -INF and NaN.
    if number != number:
        return "NaN"
    if number in (float("inf"), float("-inf")):
        return "INF" if number > 0 else "-INF"
    return repr(float(number))


def scalar_text(value: Any) -> str:
    """The unescaped CIM-XML text of a scalar (not a reference or an object)."""
    if isinstance(value, str):
        return value
    if value is True:
        return "TRUE"
    if value is False:
        return "FALSE"
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        return _real_text(value)
    if isinstance(value, CIMDateTime):
        return str(value)
    if isinstance(value, (datetime, timedelta)):
        return str(CIMDateTime(value))
    if isinstance(value, (CIMInstanceName, CIMClassName)):
        raise TypeError("a reference is written as VALUE.REFERENCE, not as text")
    raise TypeError(f"{type(value).__name__} is not a CIM scalar value")


def infer_type(value: Any) -> str:
    """The CIM type of a scalar pywbem value, for places where the caller
    gave none (plain int and float have no width and are refused)."""
    cimtype = getattr(value, "cimtype", None)
    if cimtype:
        return cimtype
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (datetime, timedelta)):
        return "datetime"
    if isinstance(value, (CIMInstanceName, CIMClassName)):
        return "reference"
    raise TypeError(f"cannot tell the CIM type of a {type(value).__name__}")


__all__ = [
    "CIM_TYPES",
    "DecodeError",
    "NUMERIC_TYPES",
    "SCALAR_TYPES",
    "decode_boolean",
    "decode_integer",
    "decode_keyvalue",
    "decode_scalar",
    "escape_attr",
    "escape_text",
    "infer_type",
    "scalar_text",
]
