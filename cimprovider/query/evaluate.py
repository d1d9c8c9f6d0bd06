"""Evaluating a query against pywbem CIMInstances.

Logic is three-valued as in SQL: a comparison with NULL is unknown (None),
NOT unknown is unknown, and an instance is selected only when the WHERE
clause is true. WQL compares strings case-insensitively as WMI does;
DMTF:CQL compares them exactly (DSP0202 gives UPPERCASE() for the rest).
Class names, property names and object paths are case-insensitive in both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Mapping, Protocol, runtime_checkable

from pywbem import CIMClassName, CIMInstance, CIMInstanceName

from .events import counterpart_property, event_class_admits
from .functions import FUNCTIONS
from .like import compile_like
from .tree import (And, Arithmetic, Comparison, Expr, FunctionCall, Index, InList, IsNull,
                   Isa, Like, Literal, Negate, Not, Or, Property, Satisfies)
from .values import Truth, as_text, compare, equals_any, to_number

if TYPE_CHECKING:
    from .queries import SelectQuery


@runtime_checkable
class QueryContext(Protocol):
    """What evaluation needs from the server: the schema's class hierarchy
    (ISA and FROM polymorphism) and where the instances live (`__PATH`,
    `__NAMESPACE`, `__SERVER`)."""

    namespace: str
    host: str

    def is_subclass(self, classname: str, superclass: str) -> bool:
        """True if `classname` derives from `superclass` (equal names may
        answer either way; evaluation tests equality itself)."""
        ...


@dataclass
class StaticQueryContext:
    """A QueryContext over a fixed map of class -> direct superclass."""

    namespace: str = "root/virtualization/v2"
    host: str = "localhost"
    superclasses: Mapping[str, str | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._parents = {name.lower(): (parent.lower() if parent else None)
                         for name, parent in self.superclasses.items()}

    def is_subclass(self, classname: str, superclass: str) -> bool:
        wanted = superclass.lower()
        current: str | None = classname.lower()
        seen: set[str] = set()
        while current is not None and current not in seen:
            if current == wanted:
                return True
            seen.add(current)
            current = self._parents.get(current)
        return False


def class_is(classname: str, wanted: str, ctx: QueryContext) -> bool:
    """`classname` is `wanted` or one of its subclasses (event classes of
    the WMI and DMTF shapes count as each other)."""
    if classname.lower() == wanted.lower():
        return True
    admitted = event_class_admits(wanted, classname)
    if admitted is not None:
        return admitted
    return ctx.is_subclass(classname, wanted)


class Scope:
    """One instance under test, plus quantifier variables."""

    def __init__(self, query: SelectQuery, instance: CIMInstance, ctx: QueryContext,
                 variables: Mapping[str, object] | None = None):
        self.query = query
        self.instance = instance
        self.ctx = ctx
        self.fold = query.language == "WQL"
        self.variables = dict(variables or {})

    def bind(self, name: str, value: object) -> "Scope":
        return Scope(self.query, self.instance, self.ctx, {**self.variables, name.lower(): value})

    # FunctionScope, for the DSP0202 functions
    def current_object(self) -> CIMInstance:
        return self.instance

    def namespace(self) -> str:
        return self.ctx.namespace

    def host(self) -> str:
        return self.ctx.host

    def object_path(self, obj: object) -> CIMInstanceName | None:
        if isinstance(obj, CIMInstanceName):
            return obj
        if isinstance(obj, CIMInstance) and obj.path is not None:
            path = obj.path.copy()
            if obj is self.instance:
                path.namespace = path.namespace or self.ctx.namespace
                path.host = path.host or self.ctx.host
            return path
        return None


def matches(query: SelectQuery, instance: CIMInstance, ctx: QueryContext) -> bool:
    if not class_is(instance.classname, query.from_class, ctx):
        return False
    if query.where is None:
        return True
    return evaluate(query.where, Scope(query, instance, ctx)) is True


def evaluate(expr: Expr, scope: Scope) -> object:
    """The value of `expr`; predicates give True, False or None (unknown)."""
    return _HANDLERS[type(expr)](expr, scope)


def _truth(value: object) -> Truth:
    return value if isinstance(value, bool) else None


def _literal(expr: Literal, scope: Scope) -> object:
    return expr.value


def _property(expr: Property, scope: Scope) -> object:
    if expr.owner is not None:
        return member(evaluate(expr.owner, scope), expr.name, scope)
    lowered = expr.name.lower()
    if lowered in scope.variables:
        return scope.variables[lowered]
    instance = scope.instance
    if instance.properties.get(expr.name) is None:
        if lowered == "__this" or lowered in _own_names(scope.query):
            return instance
    return member(instance, expr.name, scope)


def _own_names(query: SelectQuery) -> tuple[str, ...]:
    names = (query.from_class.lower(),)
    return names + ((query.alias.lower(),) if query.alias else ())


def member(owner: object, name: str, scope: Scope) -> object:
    """Property `name` of an instance (embedded or not) or key of a path."""
    if isinstance(owner, CIMInstance):
        prop = owner.properties.get(name)
        if prop is not None:
            return prop.value
        if name.startswith("__"):
            return _system_property(owner, name, scope)
        counterpart = counterpart_property(name)
        if counterpart is not None:
            prop = owner.properties.get(counterpart)
            return prop.value if prop is not None else None
        return None
    if isinstance(owner, CIMInstanceName):
        if name.lower() == "__class":
            return owner.classname
        return owner.keybindings.get(name)
    return None


def _system_property(instance: CIMInstance, name: str, scope: Scope) -> object:
    lowered = name.lower()
    path = scope.object_path(instance)
    if lowered == "__class":
        return instance.classname
    if lowered == "__path":
        return path
    if lowered == "__relpath":
        if path is None:
            return None
        relative = path.copy()
        relative.host = relative.namespace = None
        return relative
    if lowered == "__namespace":
        namespace = (path.namespace if path is not None and path.namespace
                     else scope.ctx.namespace)
        return namespace.replace("/", "\\") if scope.fold else namespace
    if lowered == "__server":
        return path.host if path is not None and path.host else scope.ctx.host
    if lowered == "__genus":
        return 2
    if lowered == "__property_count":
        return len(instance.properties)
    return None


def _index(expr: Index, scope: Scope) -> object:
    array = evaluate(expr.array, scope)
    position = to_number(evaluate(expr.index, scope))
    if not isinstance(array, list) or not isinstance(position, int):
        return None
    return array[position] if 0 <= position < len(array) else None


def _function(expr: FunctionCall, scope: Scope) -> object:
    args = [evaluate(arg, scope) for arg in expr.args]
    return FUNCTIONS[expr.name].call(scope, args)


def _negate(expr: Negate, scope: Scope) -> object:
    number = to_number(evaluate(expr.operand, scope))
    return -number if number is not None else None


def _arithmetic(expr: Arithmetic, scope: Scope) -> object:
    left, right = evaluate(expr.left, scope), evaluate(expr.right, scope)
    if expr.op == "||":
        a, b = as_text(left), as_text(right)
        return a + b if a is not None and b is not None else None
    x, y = to_number(left), to_number(right)
    if x is None or y is None:
        return None
    if expr.op == "+":
        return x + y
    if expr.op == "-":
        return x - y
    if expr.op == "*":
        return x * y
    if y == 0:
        return None
    if isinstance(x, int) and isinstance(y, int):
        quotient = abs(x) // abs(y)  # integer division truncates toward zero
        return quotient if (x < 0) == (y < 0) else -quotient
    return x / y


def _comparison(expr: Comparison, scope: Scope) -> object:
    return compare(expr.op, evaluate(expr.left, scope), evaluate(expr.right, scope),
                   fold=scope.fold)


def _like(expr: Like, scope: Scope) -> object:
    text = as_text(evaluate(expr.operand, scope))
    pattern = evaluate(expr.pattern, scope)
    if text is None or not isinstance(pattern, str):
        return None
    dialect = "WQL" if scope.query.language == "WQL" else "DMTF:CQL"
    result = compile_like(pattern, dialect, scope.fold).matches(text)
    return result != expr.negated


def _is_null(expr: IsNull, scope: Scope) -> object:
    return (evaluate(expr.operand, scope) is None) != expr.negated


def _isa(expr: Isa, scope: Scope) -> object:
    value = evaluate(expr.operand, scope)
    if isinstance(value, (CIMInstance, CIMInstanceName, CIMClassName)):
        return class_is(value.classname, expr.classname, scope.ctx)
    if isinstance(value, str) and value:
        return class_is(value, expr.classname, scope.ctx)
    return None


def _in_list(expr: InList, scope: Scope) -> object:
    value = evaluate(expr.operand, scope)
    result = equals_any(value, tuple(evaluate(item, scope) for item in expr.items),
                        fold=scope.fold)
    return _kleene_not(result) if expr.negated else result


def _satisfies(expr: Satisfies, scope: Scope) -> object:
    array = evaluate(expr.array, scope)
    if not isinstance(array, list):
        return None
    results = [_truth(evaluate(expr.condition, scope.bind(expr.variable, element)))
               for element in array]
    if expr.quantifier == "ANY":
        return True if True in results else (None if None in results else False)
    return False if False in results else (None if None in results else True)


def _kleene_not(value: Truth) -> Truth:
    return None if value is None else not value


def _not(expr: Not, scope: Scope) -> object:
    return _kleene_not(_truth(evaluate(expr.operand, scope)))


def _and(expr: And, scope: Scope) -> object:
    unknown = False
    for operand in expr.operands:
        value = _truth(evaluate(operand, scope))
        if value is False:
            return False
        unknown = unknown or value is None
    return None if unknown else True


def _or(expr: Or, scope: Scope) -> object:
    unknown = False
    for operand in expr.operands:
        value = _truth(evaluate(operand, scope))
        if value is True:
            return True
        unknown = unknown or value is None
    return None if unknown else False


_HANDLERS: dict[type, Callable[..., object]] = {
    Literal: _literal, Property: _property, Index: _index, FunctionCall: _function,
    Negate: _negate, Arithmetic: _arithmetic, Comparison: _comparison, Like: _like,
    IsNull: _is_null, Isa: _isa, InList: _in_list, Satisfies: _satisfies,
    Not: _not, And: _and, Or: _or,
}
