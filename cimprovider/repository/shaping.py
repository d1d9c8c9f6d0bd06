"""The GetClass / EnumerateClasses view of a class (DSP0200 §5.3.2.1, 5.3.2.9)."""

from __future__ import annotations

from collections.abc import Iterable

from pywbem import CIMClass, CIMMethod, CIMParameter, CIMProperty, CIMQualifier


def shape_class(
    cls: CIMClass,
    *,
    local_only: bool,
    include_qualifiers: bool,
    include_class_origin: bool,
    property_list: Iterable[str] | None,
) -> CIMClass:
    """A new class holding what the request asked for; cls is not changed.

    - local_only: drop the properties, methods and qualifiers the class
      inherits unchanged (propagated); overridden ones stay.
    - include_qualifiers False: no qualifiers on the class, its properties,
      methods or parameters.
    - include_class_origin False: no class_origin on properties and methods.
    - property_list: only the named properties (case-insensitive; unknown
      names ignored; an empty list means none). Methods are not filtered.
    """
    wanted = None if property_list is None else {p.lower() for p in property_list}

    def quals(qualifiers) -> list[CIMQualifier]:
        if not include_qualifiers:
            return []
        return [_copy_qualifier(q) for q in qualifiers.values()
                if not (local_only and q.propagated)]

    properties = [
        _copy_property(p, quals(p.qualifiers), include_class_origin)
        for p in cls.properties.values()
        if not (local_only and p.propagated)
        and (wanted is None or p.name.lower() in wanted)
    ]
    methods = [
        CIMMethod(
            m.name,
            return_type=m.return_type,
            parameters=[_copy_parameter(p, quals(p.qualifiers)) for p in m.parameters.values()],
            class_origin=m.class_origin if include_class_origin else None,
            propagated=m.propagated,
            qualifiers=quals(m.qualifiers),
        )
        for m in cls.methods.values()
        if not (local_only and m.propagated)
    ]
    return CIMClass(
        cls.classname,
        superclass=cls.superclass,
        properties=properties,
        methods=methods,
        qualifiers=quals(cls.qualifiers),
        path=cls.path.copy() if cls.path is not None else None,
    )


def _copy_qualifier(q: CIMQualifier) -> CIMQualifier:
    # Values are immutable (str, int, bool) or lists; copy() copies lists.
    return q.copy()


def _copy_property(p: CIMProperty, qualifiers: list[CIMQualifier],
                   include_class_origin: bool) -> CIMProperty:
    value = list(p.value) if isinstance(p.value, list) else p.value
    return CIMProperty(
        p.name,
        value,
        type=p.type,
        class_origin=p.class_origin if include_class_origin else None,
        array_size=p.array_size,
        propagated=p.propagated,
        is_array=p.is_array,
        reference_class=p.reference_class,
        qualifiers=qualifiers,
        embedded_object=p.embedded_object,
    )


def _copy_parameter(p: CIMParameter, qualifiers: list[CIMQualifier]) -> CIMParameter:
    return CIMParameter(
        p.name,
        p.type,
        reference_class=p.reference_class,
        is_array=p.is_array,
        array_size=p.array_size,
        qualifiers=qualifiers,
        embedded_object=p.embedded_object,
    )
