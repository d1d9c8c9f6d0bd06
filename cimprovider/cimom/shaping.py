"""Shaping instances for the response: which properties a client gets, in
the class's order, with CLASSORIGIN when asked (DSP0200 §5.3.2)."""

from __future__ import annotations

from pywbem import CIMClass, CIMInstance, CIMProperty


def property_filter(property_list: list[str] | None) -> frozenset[str] | None:
    """The lower-case names a PropertyList keeps; None keeps all. An empty
    list keeps none (keys still travel in the path)."""
    if property_list is None:
        return None
    return frozenset(name.lower() for name in property_list)


def shape_instance(
    instance: CIMInstance,
    cls: CIMClass,
    keep: frozenset[str] | None,
    include_class_origin: bool,
    fill_nulls: bool = True,
) -> CIMInstance:
    """A copy of `instance` holding the properties of `cls` that `keep`
    allows, in the class's order. A property the provider did not set comes
    as NULL with its declared type, as a real CIM server answers."""
    properties: list[CIMProperty] = []
    given = instance.properties
    for name, decl in cls.properties.items():
        if keep is not None and name.lower() not in keep:
            continue
        prop = given.get(name)
        if prop is None:
            if not fill_nulls:
                continue
            prop = CIMProperty(
                decl.name,
                None,
                type=decl.type,
                is_array=decl.is_array,
                reference_class=decl.reference_class,
                embedded_object=decl.embedded_object,
            )
        if include_class_origin != (prop.class_origin is not None) or (
            include_class_origin and prop.class_origin != decl.class_origin
        ):
            prop = prop.copy()
            prop.class_origin = decl.class_origin if include_class_origin else None
            prop.propagated = decl.propagated if include_class_origin else None
        properties.append(prop)
    shaped = CIMInstance(instance.classname, properties=properties, path=instance.path)
    return shaped


def needs_shaping(instance: CIMInstance, cls: CIMClass, keep: frozenset[str] | None) -> bool:
    """Whether `shape_instance` would change anything beyond class origin:
    lets the hot path skip the copy for complete instances."""
    if keep is not None:
        return True
    return len(instance.properties) != len(cls.properties)
