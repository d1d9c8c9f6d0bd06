"""pywbem objects into CIM-XML text fragments, appended to a list of str.

Built for speed: no DOM, one str per property where possible, and the
static part of each element (a PROPERTY opener with its NAME and TYPE, a
KEYBINDING, a LOCALNAMESPACEPATH) computed once and cached. Every element
is written with an explicit end tag: sblim wbemcli cannot read `<X/>`.
"""

from __future__ import annotations

from typing import Any, Callable, Container

from pywbem import CIMClass, CIMClassName, CIMDateTime, CIMInstance, CIMInstanceName

from cimprovider.wire.scalars import _real_text, escape_attr, escape_text, infer_type, scalar_text

Write = Callable[[str], Any]
Cut = Callable[[Any], None]

_CACHE_LIMIT = 20_000


def _bounded(cache: dict) -> dict:
    # Names come from clients too (CreateInstance echoes); keep memory flat.
    if len(cache) > _CACHE_LIMIT:
        cache.clear()
    return cache


def _bool_text(value: Any) -> str:
    return "TRUE" if value else "FALSE"


_INT_TYPES = ("uint8", "sint8", "uint16", "sint16", "uint32", "sint32", "uint64", "sint64")
_TEXT_OF_TYPE: dict[str, Callable[[Any], str]] = {t: int.__repr__ for t in _INT_TYPES}
_TEXT_OF_TYPE.update(
    {
        "string": escape_text,
        "char16": escape_text,
        "boolean": _bool_text,
        "real32": _real_text,
        "real64": _real_text,
        "datetime": lambda v: str(v) if isinstance(v, CIMDateTime) else scalar_text(v),
    }
)


def _any_text(value: Any) -> str:
    return escape_text(scalar_text(value))


def text_of_type(cimtype: str | None) -> Callable[[Any], str]:
    """A function giving the escaped VALUE text of a `cimtype` value."""
    return _TEXT_OF_TYPE.get(cimtype or "", _any_text)


def _embedded_text(value: Any) -> str:
    if isinstance(value, (CIMInstance, CIMClass)):
        parts: list[str] = []
        if isinstance(value, CIMInstance):
            write_instance(value, parts.append)
        else:
            write_class(value, parts.append)
        return escape_text("".join(parts))
    return escape_text(scalar_text(value))


_UNKNOWN = object()


def present_qualifiers(obj: Any) -> Any:
    """The qualifiers of `obj`, or None when it has none.

    pywbem creates the qualifier dict of an instance or property lazily, on
    the first read of `.qualifiers`; reading it for every property of
    every instance written would create (and keep) hundreds of thousands of
    empty dicts, doubling the time of a cold EnumerateInstances. So the
    lazy slot is looked at first, and the public attribute only when this
    pywbem has no such slot."""
    raw = getattr(obj, "_qualifiers", _UNKNOWN)
    if raw is _UNKNOWN:
        raw = obj.qualifiers
    return raw or None


def _flag(name: str, value: bool | None) -> str:
    return "" if value is None else f' {name}="{"true" if value else "false"}"'


# --- paths ---------------------------------------------------------------

_NAMESPACES: dict[str, str] = {}


def local_namespace_xml(namespace: str) -> str:
    cached = _NAMESPACES.get(namespace)
    if cached is None:
        names = "".join(f'<NAMESPACE NAME="{escape_attr(p)}"></NAMESPACE>' for p in namespace.strip("/").split("/"))
        cached = _bounded(_NAMESPACES)[namespace] = f"<LOCALNAMESPACEPATH>{names}</LOCALNAMESPACEPATH>"
    return cached


def namespace_path_xml(host: str, namespace: str) -> str:
    return f"<NAMESPACEPATH><HOST>{escape_text(host)}</HOST>{local_namespace_xml(namespace)}</NAMESPACEPATH>"


def _keyvalue(value: Any, w: Write) -> None:
    if isinstance(value, str):
        w(f'<KEYVALUE VALUETYPE="string" TYPE="string">{escape_text(value)}</KEYVALUE>')
    elif isinstance(value, bool):
        w(f'<KEYVALUE VALUETYPE="boolean" TYPE="boolean">{_bool_text(value)}</KEYVALUE>')
    elif isinstance(value, (CIMInstanceName, CIMClassName)):
        w("<VALUE.REFERENCE>")
        write_reference_path(value, w)
        w("</VALUE.REFERENCE>")
    elif isinstance(value, CIMDateTime):
        w(f'<KEYVALUE VALUETYPE="string" TYPE="datetime">{value}</KEYVALUE>')
    else:
        # A plain int or float has no CIM width: DSP0201 2.4 wants TYPE, but
        # guessing one would be worse than leaving it to VALUETYPE.
        cimtype = getattr(value, "cimtype", None)
        type_attr = f' TYPE="{cimtype}"' if cimtype else ""
        w(f'<KEYVALUE VALUETYPE="numeric"{type_attr}>{scalar_text(value)}</KEYVALUE>')


_KEY_OPENERS: dict[str, str] = {}
_INSTANCENAME_OPENERS: dict[str, str] = {}


def write_instance_name(path: CIMInstanceName, w: Write) -> None:
    classname = path.classname
    opener = _INSTANCENAME_OPENERS.get(classname)
    if opener is None:
        opener = _bounded(_INSTANCENAME_OPENERS)[classname] = f'<INSTANCENAME CLASSNAME="{escape_attr(classname)}">'
    w(opener)
    for name, value in path.keybindings.items():
        if name is None:  # the one unnamed key DSP0201 allows
            _keyvalue(value, w)
            continue
        key_opener = _KEY_OPENERS.get(name)
        if key_opener is None:
            key_opener = _bounded(_KEY_OPENERS)[name] = f'<KEYBINDING NAME="{escape_attr(name)}">'
        w(key_opener)
        _keyvalue(value, w)
        w("</KEYBINDING>")
    w("</INSTANCENAME>")


def class_name_xml(classname: str) -> str:
    return f'<CLASSNAME NAME="{escape_attr(classname)}"></CLASSNAME>'


def write_instance_path(path: CIMInstanceName, host: str, namespace: str, w: Write) -> None:
    """INSTANCEPATH, taking host and namespace from the path when it has them."""
    w("<INSTANCEPATH>")
    w(namespace_path_xml(path.host or host, path.namespace or namespace))
    write_instance_name(path, w)
    w("</INSTANCEPATH>")


def class_path_xml(path: CIMClassName, host: str, namespace: str) -> str:
    return (
        f"<CLASSPATH>{namespace_path_xml(path.host or host, path.namespace or namespace)}"
        f"{class_name_xml(path.classname)}</CLASSPATH>"
    )


def write_reference_path(path: CIMInstanceName | CIMClassName, w: Write) -> None:
    """The path inside a VALUE.REFERENCE, as complete as the path is:
    INSTANCEPATH with a host, LOCALINSTANCEPATH with a namespace only, else
    INSTANCENAME (and the same for classes)."""
    if isinstance(path, CIMInstanceName):
        if path.host and path.namespace:
            write_instance_path(path, path.host, path.namespace, w)
        elif path.namespace:
            w("<LOCALINSTANCEPATH>")
            w(local_namespace_xml(path.namespace))
            write_instance_name(path, w)
            w("</LOCALINSTANCEPATH>")
        else:
            write_instance_name(path, w)
    elif path.host and path.namespace:
        w(class_path_xml(path, path.host, path.namespace))
    elif path.namespace:
        w(f"<LOCALCLASSPATH>{local_namespace_xml(path.namespace)}{class_name_xml(path.classname)}</LOCALCLASSPATH>")
    else:
        w(class_name_xml(path.classname))


def _reference_xml(path: Any) -> str:
    parts: list[str] = []
    write_reference_path(path, parts.append)
    return "".join(parts)


# --- values --------------------------------------------------------------


# NULL items of arrays are written as VALUE.NULL, as DSP0201 says, for
# every type. pywbem 1.9.1 reads them only in string arrays (numeric,
# boolean and datetime ones fail an assertion), so providers should not
# put None into non-string arrays; dropping items here would silently
# shift array indexes instead.


def write_value(value: Any, cimtype: str | None, w: Write, embedded: bool = False) -> None:
    """VALUE, VALUE.ARRAY, VALUE.REFERENCE or VALUE.REFARRAY; nothing for
    NULL. `cimtype` may be None to infer it from the value."""
    if value is None:
        return
    if isinstance(value, (list, tuple)):
        if cimtype == "reference" or (value and isinstance(value[0], (CIMInstanceName, CIMClassName))):
            items = [
                "<VALUE.NULL></VALUE.NULL>" if v is None else f"<VALUE.REFERENCE>{_reference_xml(v)}</VALUE.REFERENCE>"
                for v in value
            ]
            w(f"<VALUE.REFARRAY>{''.join(items)}</VALUE.REFARRAY>")
            return
        text = _embedded_text if embedded else text_of_type(cimtype)
        items = ["<VALUE.NULL></VALUE.NULL>" if v is None else f"<VALUE>{text(v)}</VALUE>" for v in value]
        w(f"<VALUE.ARRAY>{''.join(items)}</VALUE.ARRAY>")
        return
    if isinstance(value, (CIMInstanceName, CIMClassName)):
        w(f"<VALUE.REFERENCE>{_reference_xml(value)}</VALUE.REFERENCE>")
        return
    if embedded or isinstance(value, (CIMInstance, CIMClass)):
        w(f"<VALUE>{_embedded_text(value)}</VALUE>")
        return
    w(f"<VALUE>{text_of_type(cimtype or infer_type(value))(value)}</VALUE>")


# --- qualifiers ----------------------------------------------------------


def write_qualifier(qualifier: Any, w: Write) -> None:
    w(
        f'<QUALIFIER NAME="{escape_attr(qualifier.name)}" TYPE="{qualifier.type}"'
        f"{_flag('PROPAGATED', qualifier.propagated)}{_flag('OVERRIDABLE', qualifier.overridable)}"
        f"{_flag('TOSUBCLASS', qualifier.tosubclass)}{_flag('TOINSTANCE', qualifier.toinstance)}"
        f"{_flag('TRANSLATABLE', qualifier.translatable)}>"
    )
    write_value(qualifier.value, qualifier.type, w)
    w("</QUALIFIER>")


_SCOPES = ("CLASS", "ASSOCIATION", "REFERENCE", "PROPERTY", "METHOD", "PARAMETER", "INDICATION")


def write_qualifier_declaration(decl: Any, w: Write) -> None:
    array_size = f' ARRAYSIZE="{decl.array_size}"' if decl.array_size is not None else ""
    w(
        f'<QUALIFIER.DECLARATION NAME="{escape_attr(decl.name)}" TYPE="{decl.type}"'
        f"{_flag('ISARRAY', bool(decl.is_array))}{array_size}"
        f"{_flag('OVERRIDABLE', decl.overridable)}{_flag('TOSUBCLASS', decl.tosubclass)}"
        f"{_flag('TOINSTANCE', decl.toinstance)}{_flag('TRANSLATABLE', decl.translatable)}>"
    )
    if decl.scopes:
        given = {name.upper(): bool(on) for name, on in decl.scopes.items()}
        if given.pop("ANY", False):  # MOF's "Scope(any)" has no SCOPE attribute of its own
            given = dict.fromkeys(_SCOPES, True)
        w(f"<SCOPE{''.join(_flag(name, on) for name, on in given.items())}></SCOPE>")
    write_value(decl.value, decl.type, w)
    w("</QUALIFIER.DECLARATION>")


# --- properties ----------------------------------------------------------

# Per property shape: (opener, closer, text function, kind), kind being
# 0 scalar, 1 array, 2 reference, 3 embedded scalar, 4 embedded array.
_PROPERTY_SHAPES: dict[tuple, tuple[str, str, Callable[[Any], str], int]] = {}


def _property_shape(prop: Any, key: tuple) -> tuple[str, str, Callable[[Any], str], int]:
    name, cimtype, is_array, class_origin, propagated, embedded, reference_class, array_size = key
    attrs = f'NAME="{escape_attr(name)}"'
    origin = f' CLASSORIGIN="{escape_attr(class_origin)}"' if class_origin else ""
    prop_flag = _flag("PROPAGATED", propagated)
    if cimtype == "reference":
        refclass = f' REFERENCECLASS="{escape_attr(reference_class)}"' if reference_class else ""
        shape = (f"<PROPERTY.REFERENCE {attrs}{refclass}{origin}{prop_flag}>", "</PROPERTY.REFERENCE>", _any_text, 2)
    else:
        embedding = f' EmbeddedObject="{embedded}"' if embedded else ""
        tag = "PROPERTY.ARRAY" if is_array else "PROPERTY"
        size = f' ARRAYSIZE="{array_size}"' if is_array and array_size is not None else ""
        opener = f'<{tag} {attrs} TYPE="{cimtype}"{size}{origin}{prop_flag}{embedding}>'
        text = _embedded_text if embedded else text_of_type(cimtype)
        shape = (opener, f"</{tag}>", text, (1 if is_array else 0) + (3 if embedded else 0))
    _bounded(_PROPERTY_SHAPES)[key] = shape
    return shape


def property_key(prop: Any) -> tuple:
    """What, besides its value and qualifiers, shapes a property's XML."""
    return (
        prop.name,
        prop.type,
        prop.is_array,
        prop.class_origin,
        prop.propagated,
        prop.embedded_object,
        prop.reference_class,
        prop.array_size,
    )


def write_property(prop: Any, w: Write) -> None:
    key = (
        prop.name,
        prop.type,
        prop.is_array,
        prop.class_origin,
        prop.propagated,
        prop.embedded_object,
        prop.reference_class,
        prop.array_size,
    )
    shape = _PROPERTY_SHAPES.get(key) or _property_shape(prop, key)
    _write_shaped(shape, present_qualifiers(prop), prop.value, w)


def write_property_value(key: tuple, value: Any, w: Write) -> None:
    """A property without qualifiers, of the shape `property_key` gave,
    holding `value`: the same XML write_property writes for it."""
    shape = _PROPERTY_SHAPES.get(key) or _property_shape(None, key)
    _write_shaped(shape, None, value, w)


def _write_shaped(shape: tuple[str, str, Callable[[Any], str], int], qualifiers: Any, value: Any, w: Write) -> None:
    opener, closer, text, kind = shape
    if qualifiers:
        w(opener)
        for qualifier in qualifiers.values():
            write_qualifier(qualifier, w)
        opener = ""
    if value is None:
        w(opener + closer)
    elif kind == 0 or kind == 3:
        w(f"{opener}<VALUE>{text(value)}</VALUE>{closer}")
    elif kind == 2:
        w(f"{opener}<VALUE.REFERENCE>{_reference_xml(value)}</VALUE.REFERENCE>{closer}")
    else:
        items = ["<VALUE.NULL></VALUE.NULL>" if v is None else f"<VALUE>{text(v)}</VALUE>" for v in value]
        w(f"{opener}<VALUE.ARRAY>{''.join(items)}</VALUE.ARRAY>{closer}")


# --- instances and classes -----------------------------------------------

_INSTANCE_OPENERS: dict[str, str] = {}


def write_instance(instance: CIMInstance, w: Write, holes: Container[str] = (), cut: Cut | None = None) -> None:
    """INSTANCE, without its path. The properties named in `holes` are not
    written but handed to `cut`, at their place (a kept reply writes them
    afresh each time)."""
    classname = instance.classname
    opener = _INSTANCE_OPENERS.get(classname)
    if opener is None:
        opener = _bounded(_INSTANCE_OPENERS)[classname] = f'<INSTANCE CLASSNAME="{escape_attr(classname)}">'
    w(opener)
    qualifiers = present_qualifiers(instance)
    if qualifiers:
        for qualifier in qualifiers.values():
            write_qualifier(qualifier, w)
    if cut is None:
        for prop in instance.properties.values():
            write_property(prop, w)
    else:
        for prop in instance.properties.values():
            if prop.name in holes:
                cut(prop)
            else:
                write_property(prop, w)
    w("</INSTANCE>")


def _write_parameter(param: Any, w: Write) -> None:
    name = f'NAME="{escape_attr(param.name)}"'
    size = f' ARRAYSIZE="{param.array_size}"' if param.array_size is not None else ""
    if param.type == "reference":
        tag = "PARAMETER.REFARRAY" if param.is_array else "PARAMETER.REFERENCE"
        refclass = f' REFERENCECLASS="{escape_attr(param.reference_class)}"' if param.reference_class else ""
        w(f"<{tag} {name}{refclass}{size if param.is_array else ''}>")
    else:
        tag = "PARAMETER.ARRAY" if param.is_array else "PARAMETER"
        w(f'<{tag} {name} TYPE="{param.type}"{size if param.is_array else ""}>')
    for qualifier in param.qualifiers.values():
        write_qualifier(qualifier, w)
    w(f"</{tag}>")


def _write_method(method: Any, w: Write) -> None:
    origin = f' CLASSORIGIN="{escape_attr(method.class_origin)}"' if method.class_origin else ""
    return_type = f' TYPE="{method.return_type}"' if method.return_type else ""
    w(f'<METHOD NAME="{escape_attr(method.name)}"{return_type}{origin}{_flag("PROPAGATED", method.propagated)}>')
    for qualifier in method.qualifiers.values():
        write_qualifier(qualifier, w)
    for param in method.parameters.values():
        _write_parameter(param, w)
    w("</METHOD>")


def write_class(klass: CIMClass, w: Write) -> None:
    superclass = f' SUPERCLASS="{escape_attr(klass.superclass)}"' if klass.superclass else ""
    w(f'<CLASS NAME="{escape_attr(klass.classname)}"{superclass}>')
    for qualifier in klass.qualifiers.values():
        write_qualifier(qualifier, w)
    for prop in klass.properties.values():
        write_property(prop, w)
    for method in klass.methods.values():
        _write_method(method, w)
    w("</CLASS>")
