"""The DSP0202 functions a management script uses, for DMTF:CQL.

A function receives its evaluated arguments and the `FunctionScope` of the
object under test (for CLASSNAME(), OBJECTPATH() with no argument and the
namespace functions). NULL in gives NULL out; a value of the wrong kind
gives NULL too, which the WHERE clause treats as false.

Aggregates (COUNT, MAX…) are not offered: they need GROUP BY semantics that
an instance filter does not have.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import Callable, Protocol

from pywbem import CIMClassName, CIMDateTime, CIMInstance, CIMInstanceName

from .paths import ObjectPathError, format_object_path, parse_object_path
from .values import as_text, to_datetime, to_number

_EPOCH = _dt.datetime(1, 1, 1, tzinfo=_dt.timezone.utc)


class FunctionScope(Protocol):
    def current_object(self) -> CIMInstance: ...
    def namespace(self) -> str: ...
    def host(self) -> str: ...
    def object_path(self, obj: object) -> CIMInstanceName | None: ...


@dataclass(frozen=True)
class Function:
    name: str
    min_args: int
    max_args: int
    call: Callable[[FunctionScope, list[object]], object]


def _target(scope: FunctionScope, args: list[object]) -> object:
    return args[0] if args else scope.current_object()


def _classname(scope: FunctionScope, args: list[object]) -> object:
    target = _target(scope, args)
    if isinstance(target, (CIMInstance, CIMInstanceName, CIMClassName)):
        return target.classname
    return None


def _objectpath(scope: FunctionScope, args: list[object]) -> object:
    path = scope.object_path(_target(scope, args))
    return format_object_path(path) if path is not None else None


def _classpath(scope: FunctionScope, args: list[object]) -> object:
    path = scope.object_path(_target(scope, args))
    if path is None:
        return None
    return format_object_path(CIMClassName(path.classname, host=path.host,
                                           namespace=path.namespace))


def _namespacename(scope: FunctionScope, args: list[object]) -> object:
    path = scope.object_path(_target(scope, args)) if args else None
    return (path.namespace if path is not None and path.namespace else scope.namespace())


def _hostport(scope: FunctionScope, args: list[object]) -> object:
    path = scope.object_path(_target(scope, args)) if args else None
    return path.host if path is not None and path.host else scope.host()


def _upper(scope: FunctionScope, args: list[object]) -> object:
    text = as_text(args[0])
    return text.upper() if text is not None else None


def _lower(scope: FunctionScope, args: list[object]) -> object:
    text = as_text(args[0])
    return text.lower() if text is not None else None


def _string_to_uint(scope: FunctionScope, args: list[object]) -> object:
    number = to_number(args[0]) if isinstance(args[0], str) else None
    return number if isinstance(number, int) and number >= 0 else None


def _string_to_sint(scope: FunctionScope, args: list[object]) -> object:
    number = to_number(args[0]) if isinstance(args[0], str) else None
    return number if isinstance(number, int) else None


def _string_to_real(scope: FunctionScope, args: list[object]) -> object:
    number = to_number(args[0]) if isinstance(args[0], str) else None
    return float(number) if number is not None else None


def _string_to_numeric(scope: FunctionScope, args: list[object]) -> object:
    return to_number(args[0]) if isinstance(args[0], str) else None


def _numeric_to_string(scope: FunctionScope, args: list[object]) -> object:
    value = args[0]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return str(value)


def _reference_to_string(scope: FunctionScope, args: list[object]) -> object:
    value = args[0]
    if isinstance(value, (CIMInstanceName, CIMClassName)):
        return format_object_path(value)
    return None


def _instance_to_reference(scope: FunctionScope, args: list[object]) -> object:
    return scope.object_path(_target(scope, args))


def _string_to_reference(scope: FunctionScope, args: list[object]) -> object:
    if not isinstance(args[0], str):
        return None
    try:
        return parse_object_path(args[0])
    except ObjectPathError:
        return None


def _datetime(scope: FunctionScope, args: list[object]) -> object:
    return to_datetime(args[0])


def _current_datetime(scope: FunctionScope, args: list[object]) -> object:
    return CIMDateTime(_dt.datetime.now(_dt.timezone.utc))


def _datetime_to_microsecond(scope: FunctionScope, args: list[object]) -> object:
    value = to_datetime(args[0])
    if value is None:
        return None
    if value.is_interval:
        delta = value.timedelta
    elif value.datetime is None:
        return None
    else:
        delta = value.datetime - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _microsecond_to_timestamp(scope: FunctionScope, args: list[object]) -> object:
    number = to_number(args[0])
    if not isinstance(number, int) or number < 0:
        return None
    try:
        return CIMDateTime(_EPOCH + _dt.timedelta(microseconds=number))
    except OverflowError:
        return None


def _microsecond_to_interval(scope: FunctionScope, args: list[object]) -> object:
    number = to_number(args[0])
    if not isinstance(number, int) or number < 0:
        return None
    try:
        return CIMDateTime(_dt.timedelta(microseconds=number))
    except (OverflowError, ValueError):
        return None


FUNCTIONS: dict[str, Function] = {f.name: f for f in (
    Function("CLASSNAME", 0, 1, _classname),
    Function("CLASSPATH", 0, 1, _classpath),
    Function("OBJECTPATH", 0, 1, _objectpath),
    Function("MODELPATH", 0, 1, _objectpath),
    Function("NAMESPACENAME", 0, 1, _namespacename),
    Function("NAMESPACETYPE", 0, 1, lambda scope, args: "http"),
    Function("HOSTPORT", 0, 1, _hostport),
    Function("UPPERCASE", 1, 1, _upper),
    # Not in DSP0202; scripts reach for it and its meaning is unambiguous.
    Function("LOWERCASE", 1, 1, _lower),
    Function("STRINGTOUINT", 1, 1, _string_to_uint),
    Function("STRINGTOSINT", 1, 1, _string_to_sint),
    Function("STRINGTOREAL", 1, 1, _string_to_real),
    Function("STRINGTONUMERIC", 1, 1, _string_to_numeric),
    Function("NUMERICTOSTRING", 1, 1, _numeric_to_string),
    Function("REFERENCETOSTRING", 1, 1, _reference_to_string),
    Function("STRINGTOREFERENCE", 1, 1, _string_to_reference),
    Function("INSTANCETOREFERENCE", 0, 1, _instance_to_reference),
    Function("DATETIME", 1, 1, _datetime),
    Function("CURRENTDATETIME", 0, 0, _current_datetime),
    Function("DATETIMETOMICROSECOND", 1, 1, _datetime_to_microsecond),
    Function("MICROSECONDTOTIMESTAMP", 1, 1, _microsecond_to_timestamp),
    Function("MICROSECONDTOINTERVAL", 1, 1, _microsecond_to_interval),
)}
