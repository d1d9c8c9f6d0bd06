"""Object path text as WMI and DMTF clients write it, and loose path matching.

Hyper-V clients put path text in queries in several shapes: with a
`\\\\HOST\\root\\virtualization\\v2:` or `//HOST/root/...:` prefix or none,
keys in any order and case, and backslashes inside key values either doubled
(the WMI path escape, MS samples) or raw (os-win pastes `__PATH` as is). A
path therefore matches on its class and keys, compared case-insensitively
with runs of backslashes collapsed; host is ignored and the namespace only
has to agree when both sides name one.
"""

from __future__ import annotations

import re

from pywbem import CIMClassName, CIMInstanceName

KeyValue = str | int | float | bool | CIMInstanceName

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(r"[+-]?(?:0[xX][0-9A-Fa-f]+|\d+(?:\.\d*)?(?:[eE][+-]?\d+)?)")
# A cheap test before trying a full parse: "Class.Key=" or "Class=@",
# optionally behind a namespace prefix.
_LOOKS_LIKE_PATH = re.compile(
    r'^\s*(?:[^"=:]*:)?\s*[A-Za-z_][A-Za-z0-9_]*\s*(?:\.\s*[A-Za-z_][A-Za-z0-9_]*\s*=|=\s*@)')
_BACKSLASH_RUN = re.compile(r"\\+")


class ObjectPathError(ValueError):
    """Path text that cannot be read; the message says where."""


def looks_like_path(text: str) -> bool:
    return _LOOKS_LIKE_PATH.match(text) is not None


def parse_object_path(text: str) -> CIMInstanceName | CIMClassName:
    """Read `[\\\\host\\ns:]Class.Key="v",Key2=5`, `Class=@` or a bare class.

    Key string values accept both the escaped (`\\\\`) and the raw form of a
    backslash: a backslash escapes only another backslash or a quote.
    """
    host, namespace, rest = _split_prefix(text.strip())
    match = _NAME.match(rest)
    if match is None:
        raise ObjectPathError(f"no class name at the start of {rest!r}")
    classname = match.group()
    pos = _skip_blanks(rest, match.end())
    if pos == len(rest):
        return CIMClassName(classname, host=host, namespace=namespace)
    if rest[pos] == "=":
        pos = _skip_blanks(rest, pos + 1)
        if rest[pos:].strip() != "@":
            raise ObjectPathError(
                f"expected '@' (singleton) after '{classname}=' at offset {pos}")
        return CIMInstanceName(classname, host=host, namespace=namespace)
    if rest[pos] != ".":
        raise ObjectPathError(f"expected '.' or '=' after class name at offset {pos}")
    keybindings = _parse_keybindings(rest, pos + 1)
    return CIMInstanceName(classname, keybindings=keybindings, host=host,
                           namespace=namespace)


def _split_prefix(text: str) -> tuple[str | None, str | None, str]:
    stop = len(text)
    for i, ch in enumerate(text):
        if ch in '"\'=':
            stop = i
            break
    colon = text.rfind(":", 0, stop)
    if colon < 0:
        return None, None, text
    prefix = text[:colon].replace("\\", "/")
    host: str | None = None
    if prefix.startswith("//"):
        host, _, prefix = prefix[2:].partition("/")
    segments = [segment for segment in prefix.split("/") if segment]
    return host or None, "/".join(segments) or None, text[colon + 1:]


def _skip_blanks(text: str, pos: int) -> int:
    while pos < len(text) and text[pos].isspace():
        pos += 1
    return pos


def _parse_keybindings(text: str, pos: int) -> dict[str, KeyValue]:
    keybindings: dict[str, KeyValue] = {}
    while True:
        pos = _skip_blanks(text, pos)
        match = _NAME.match(text, pos)
        if match is None:
            raise ObjectPathError(f"expected a key name at offset {pos}")
        name = match.group()
        pos = _skip_blanks(text, match.end())
        if pos >= len(text) or text[pos] != "=":
            raise ObjectPathError(f"expected '=' after key {name!r} at offset {pos}")
        value, pos = _parse_key_value(text, _skip_blanks(text, pos + 1))
        keybindings[name] = value
        pos = _skip_blanks(text, pos)
        if pos == len(text):
            return keybindings
        if text[pos] != ",":
            raise ObjectPathError(f"expected ',' between keys at offset {pos}")
        pos += 1


def _parse_key_value(text: str, pos: int) -> tuple[KeyValue, int]:
    if pos < len(text) and text[pos] in "\"'":
        return _parse_quoted(text, pos)
    match = _NUMBER.match(text, pos)
    if match is not None:
        number = match.group()
        if number.lstrip("+-")[:2].lower() == "0x":
            return int(number, 16), match.end()
        if any(ch in number for ch in ".eE"):
            return float(number), match.end()
        return int(number), match.end()
    match = _NAME.match(text, pos)
    if match is not None and match.group().lower() in ("true", "false"):
        return match.group().lower() == "true", match.end()
    raise ObjectPathError(f"expected a quoted string, number or boolean at offset {pos}")


def _parse_quoted(text: str, pos: int) -> tuple[str, int]:
    """A "…" value (or '…', which some scripts write)."""
    quote = text[pos]
    chars: list[str] = []
    i = pos + 1
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text) and text[i + 1] in ("\\", quote):
            chars.append(text[i + 1])
            i += 2
        elif ch == quote:
            return "".join(chars), i + 1
        else:
            chars.append(ch)
            i += 1
    raise ObjectPathError(f"unterminated key value starting at offset {pos}")


def format_object_path(path: CIMInstanceName | CIMClassName) -> str:
    """WMI path text (`\\\\host\\ns:Class.K="v"`), readable by parse_object_path."""
    prefix = ""
    if path.namespace:
        namespace = path.namespace.strip("/").replace("/", "\\")
        prefix = f"\\\\{path.host}\\{namespace}:" if path.host else f"{namespace}:"
    if isinstance(path, CIMClassName):
        return prefix + path.classname
    if not path.keybindings:
        return f"{prefix}{path.classname}=@"
    keys = ",".join(f"{name}={_format_key_value(value)}"
                    for name, value in path.keybindings.items())
    return f"{prefix}{path.classname}.{keys}"


def _format_key_value(value: object) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, (CIMInstanceName, CIMClassName)):
        value = format_object_path(value)
    escaped = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


PathIdentity = tuple[str, tuple[tuple[str, object], ...]]


def path_identity(path: CIMInstanceName | CIMClassName) -> PathIdentity:
    """What two paths must share to name the same object."""
    if isinstance(path, CIMClassName):
        return (path.classname.lower(), ())
    keys = tuple(sorted((name.lower(), _key_identity(value))
                        for name, value in path.keybindings.items()))
    return (path.classname.lower(), keys)


def _key_identity(value: object) -> object:
    if isinstance(value, (CIMInstanceName, CIMClassName)):
        return path_identity(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and looks_like_path(value):
        try:
            return path_identity(parse_object_path(value))
        except ObjectPathError:
            pass
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return _BACKSLASH_RUN.sub(r"\\", str(value)).casefold()


def _namespaces_agree(first: str | None, second: str | None) -> bool:
    # A raw `\\HOST\ns` read as a WQL string loses a backslash and reads as
    # namespace `HOST/ns`, so one namespace may end with the other.
    if not first or not second:
        return True
    a = [s for s in first.lower().replace("\\", "/").split("/") if s]
    b = [s for s in second.lower().replace("\\", "/").split("/") if s]
    shorter, longer = (a, b) if len(a) <= len(b) else (b, a)
    return longer[len(longer) - len(shorter):] == shorter


def paths_match(first: CIMInstanceName | CIMClassName,
                second: CIMInstanceName | CIMClassName) -> bool:
    return (type(first) is type(second)
            and path_identity(first) == path_identity(second)
            and _namespaces_agree(first.namespace, second.namespace))


def path_matches_text(path: CIMInstanceName | CIMClassName, text: str) -> bool:
    try:
        other = parse_object_path(text)
    except ObjectPathError:
        return False
    return paths_match(path, other)


def texts_name_same_path(first: str, second: str) -> bool:
    """Two strings holding path text (Parent, HostResource) that may differ
    only in escaping, key order, case or prefix."""
    if not (looks_like_path(first) and looks_like_path(second)):
        return False
    try:
        return paths_match(parse_object_path(first), parse_object_path(second))
    except ObjectPathError:
        return False
