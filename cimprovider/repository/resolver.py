"""Inheritance: build each class's full definition from its local MOF
definition and its (already resolved) superclass, per DSP0004 §5.1.

pywbem_mock also resolves classes, but marks overridden members as
propagated and lets Restricted qualifiers (Override, Deprecated,
Experimental) leak into subclasses, which would make LocalOnly drop
overrides. So the compiler keeps the local definitions and this module
resolves them:

- a member defined or overridden in the class: propagated False,
  class_origin = the class;
- a member inherited unchanged: propagated True, class_origin = where it
  was last defined, qualifiers that flow ToSubclass only;
- qualifiers (class, member, parameter) not given locally are inherited
  when their flavor is ToSubclass, marked propagated;
- members keep base-class order: inherited first, then new ones;
- string properties and parameters with EmbeddedObject/EmbeddedInstance
  get embedded_object set, as the CIM-XML EmbeddedObject attribute needs.
"""

from __future__ import annotations

from collections.abc import Mapping

from pywbem import CIMClass, CIMMethod, CIMProperty, CIMQualifierDeclaration

Decls = Mapping[str, CIMQualifierDeclaration]


def resolve_class(local: CIMClass, superclass: CIMClass | None, decls: Decls) -> CIMClass:
    cls = local.copy()
    _init_qualifiers(cls.qualifiers, decls)
    for member in list(cls.properties.values()) + list(cls.methods.values()):
        member.propagated = False
        member.class_origin = cls.classname
        _init_qualifiers(member.qualifiers, decls)
        if isinstance(member, CIMMethod):
            for param in member.parameters.values():
                _init_qualifiers(param.qualifiers, decls)
                _mark_embedded(param)
        else:
            _mark_embedded(member)
    if superclass is None:
        return cls

    _inherit_qualifiers(cls.qualifiers, superclass.qualifiers)
    cls.properties = _merge(cls.properties, superclass.properties)
    cls.methods = _merge(cls.methods, superclass.methods)
    for method in cls.methods.values():
        sup = superclass.methods.get(method.name)
        if sup is not None and not method.propagated:
            for param in method.parameters.values():
                sup_param = sup.parameters.get(param.name)
                if sup_param is not None:
                    _inherit_qualifiers(param.qualifiers, sup_param.qualifiers)
    return cls


def _merge(local, inherited) -> list:
    out = []
    for name, sup_member in inherited.items():
        own = local.get(name)
        if own is not None:
            _inherit_qualifiers(own.qualifiers, sup_member.qualifiers)
            out.append(own)
        else:
            out.append(_propagate(sup_member))
    out.extend(m for name, m in local.items() if name not in inherited)
    return out


def _propagate(member: CIMProperty | CIMMethod) -> CIMProperty | CIMMethod:
    copy = member.copy()
    copy.propagated = True
    copy.qualifiers = _flowing(member.qualifiers)
    if isinstance(copy, CIMMethod):
        for param in copy.parameters.values():
            param.qualifiers = _flowing(param.qualifiers)
    return copy


def _flowing(qualifiers) -> list:
    out = []
    for q in qualifiers.values():
        if q.tosubclass is False:
            continue
        q = q.copy()
        q.propagated = True
        out.append(q)
    return out


def _inherit_qualifiers(own, inherited) -> None:
    for q in inherited.values():
        if q.tosubclass is False or q.name in own:
            continue
        q = q.copy()
        q.propagated = True
        own[q.name] = q


def _mark_embedded(element) -> None:
    """Set embedded_object from the qualifiers, so it survives IncludeQualifiers=False."""
    if element.type != "string":
        return
    if element.qualifiers.get("EmbeddedInstance") is not None:
        element.embedded_object = "instance"
    elif (q := element.qualifiers.get("EmbeddedObject")) is not None and q.value:
        element.embedded_object = "object"


def _init_qualifiers(qualifiers, decls: Decls) -> None:
    """Give local qualifiers the flavors of their declaration where MOF omitted them."""
    for q in qualifiers.values():
        q.propagated = False
        decl = decls.get(q.name.lower())
        if q.tosubclass is None:
            q.tosubclass = True if decl is None or decl.tosubclass is None else decl.tosubclass
        if q.overridable is None:
            q.overridable = True if decl is None or decl.overridable is None else decl.overridable
        if q.translatable is None and decl is not None:
            q.translatable = decl.translatable


__all__ = ["resolve_class"]
