"""Shaping instances for the response (DSP0200 §5.3.2): which properties a
client gets, and CLASSORIGIN when asked.

Instances carry the properties their provider set; properties left unset
are not invented as NULLs (as OpenPegasus and SFCB answer). The hot path —
no PropertyList, the class asked for, no class origin — hands the
provider's instance through untouched: copying it would cost more than
writing it."""

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
) -> CIMInstance:
    """`instance` limited to the properties `cls` declares and `keep`
    allows, with or without class origin. Returns `instance` itself when
    nothing changes."""
    if keep is None and not include_class_origin and _within(instance, cls):
        return instance
    declared = cls.properties
    properties: list[CIMProperty] = []
    for name, prop in instance.properties.items():
        decl = declared.get(name)
        if decl is None or (keep is not None and name.lower() not in keep):
            continue
        if include_class_origin != (prop.class_origin is not None):
            prop = prop.copy()
            prop.class_origin = decl.class_origin if include_class_origin else None
            prop.propagated = decl.propagated if include_class_origin else None
        properties.append(prop)
    return CIMInstance(instance.classname, properties=properties, path=instance.path)


def _within(instance: CIMInstance, cls: CIMClass) -> bool:
    """Whether every property of `instance` belongs to `cls` and none
    carries a class origin. An instance of `cls` itself always qualifies
    (providers set only declared properties), which spares the lookups."""
    if instance.classname.lower() != cls.classname.lower():
        declared = cls.properties
        if any(name not in declared for name in instance.properties):
            return False
    return True


def only_properties(instance: CIMInstance, keep: frozenset[str] | None) -> CIMInstance:
    """`instance` with just the properties `keep` allows (None: all)."""
    if keep is None or not isinstance(instance, CIMInstance):
        return instance
    kept = [prop for name, prop in instance.properties.items() if name.lower() in keep]
    return CIMInstance(instance.classname, properties=kept, path=instance.path, qualifiers=instance.qualifiers)
