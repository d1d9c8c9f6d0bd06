"""Comparing property values with query values the way WMI clients expect.

Hyper-V scripts quote everything (`MigrationType = '32770'`,
`EnabledForVirtualization = 'True'`) and uint64 travels as a string, so a
number or a boolean compares equal to its text form. A comparison involving
NULL, or two values that cannot be compared, is *unknown* (None), which the
WHERE clause treats as false; only IS NULL sees a NULL.
"""

from __future__ import annotations

import math
import operator
from typing import Any, Callable

from pywbem import CIMClassName, CIMDateTime, CIMInstance, CIMInstanceName

from .paths import format_object_path, path_matches_text, paths_match, texts_name_same_path

Truth = bool | None

_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq, "<>": operator.ne, "<": operator.lt,
    ">": operator.gt, "<=": operator.le, ">=": operator.ge,
}
_PATHS = (CIMInstanceName, CIMClassName)


def to_number(value: object) -> int | float | None:
    """A number from a number or its text; None if it is neither."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            if text.lower().lstrip("+-").startswith("0x"):
                return int(text, 16)
            return int(text)
        except ValueError:
            pass
        try:
            number = float(text)
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def to_boolean(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return {"true": True, "false": False}.get(value.strip().lower())
    if isinstance(value, int):
        return {1: True, 0: False}.get(value)
    return None


def to_datetime(value: object) -> CIMDateTime | None:
    if isinstance(value, CIMDateTime):
        return value
    if isinstance(value, str):
        try:
            return CIMDateTime(value.strip())
        except (ValueError, TypeError):
            return None
    return None


def compare(op: str, left: object, right: object, *, fold: bool) -> Truth:
    """`left op right`; `fold` makes string comparisons case-insensitive."""
    if left is None or right is None:
        return None
    test = _ORDER[op]
    if isinstance(left, _PATHS) or isinstance(right, _PATHS):
        return _compare_paths(op, left, right)
    if isinstance(left, list) or isinstance(right, list):
        return _compare_arrays(op, left, right, fold=fold)
    if isinstance(left, CIMInstance) or isinstance(right, CIMInstance):
        return test(left, right) if op in ("=", "<>") else None
    if isinstance(left, bool) or isinstance(right, bool):
        a, b = to_boolean(left), to_boolean(right)
        if a is None or b is None or op not in ("=", "<>"):
            return None
        return test(a, b)
    if isinstance(left, CIMDateTime) or isinstance(right, CIMDateTime):
        return _compare_datetimes(op, left, right)
    if isinstance(left, (int, float)) or isinstance(right, (int, float)):
        a, b = to_number(left), to_number(right)
        if a is None or b is None:
            return None
        return test(a, b)
    if isinstance(left, str) and isinstance(right, str):
        return _compare_strings(op, left, right, fold=fold)
    return test(left, right) if op in ("=", "<>") else None


def _compare_strings(op: str, left: str, right: str, *, fold: bool) -> Truth:
    a, b = (left.casefold(), right.casefold()) if fold else (left, right)
    result = _ORDER[op](a, b)
    if op in ("=", "<>") and a != b and texts_name_same_path(left, right):
        return op == "="
    return result


def _compare_paths(op: str, left: object, right: object) -> Truth:
    if op not in ("=", "<>"):
        return None
    if isinstance(left, _PATHS) and isinstance(right, _PATHS):
        same = paths_match(left, right)
    elif isinstance(left, _PATHS) and isinstance(right, str):
        same = path_matches_text(left, right)
    elif isinstance(right, _PATHS) and isinstance(left, str):
        same = path_matches_text(right, left)
    else:
        return None
    return same if op == "=" else not same


def _compare_arrays(op: str, left: object, right: object, *, fold: bool) -> Truth:
    if not (isinstance(left, list) and isinstance(right, list)) or op not in ("=", "<>"):
        return None
    if len(left) != len(right):
        return op == "<>"
    results = [compare("=", a, b, fold=fold) for a, b in zip(left, right)]
    if any(r is None for r in results):
        return None
    same = all(results)
    return same if op == "=" else not same


def _compare_datetimes(op: str, left: object, right: object) -> Truth:
    a, b = to_datetime(left), to_datetime(right)
    if a is None or b is None:
        return None
    if a.is_interval != b.is_interval:
        return None
    if a.is_interval:
        return _ORDER[op](a.timedelta, b.timedelta)
    if a.datetime is None or b.datetime is None:
        return None
    return _ORDER[op](a.datetime, b.datetime)


def equals_any(value: object, candidates: tuple[object, ...], *, fold: bool) -> Truth:
    """`value IN (candidates)` in three-valued logic."""
    unknown = False
    for candidate in candidates:
        result = compare("=", value, candidate, fold=fold)
        if result:
            return True
        unknown = unknown or result is None
    return None if unknown else False


def as_text(value: object) -> str | None:
    """The text a LIKE or a string function works on."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, _PATHS):
        return format_object_path(value)
    if isinstance(value, (str, int, float, CIMDateTime)):
        return str(value)
    return None

