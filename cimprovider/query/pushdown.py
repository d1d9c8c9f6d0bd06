"""Conditions a provider can use to build fewer instances.

Only the top-level AND terms of a WHERE clause are looked at, so every
condition here is necessary for the query to match: a provider may skip
any instance that fails one, and must still hand the rest to the full WHERE
(which the engine applies afterwards). Recognised terms:

- `Prop = literal` (either side), `Prop IN (literals)` and an OR of
  equalities on one property: the property equals one of the values;
- `Prop LIKE 'text'` without wildcards: equality;
- `Prop LIKE 'prefix%'` (WQL) or `'prefix.*'` (CQL): a prefix;
- `__PATH = 'path'`: the instance has that path.

Values are compared as the query language does (`admits`): in WQL `'32770'`
equals the uint16 32770 and strings compare case-insensitively.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pywbem import CIMInstanceName

from .like import compile_like
from .paths import ObjectPathError, parse_object_path
from .tree import Comparison, Expr, InList, Like, Literal, Or, Property, conjuncts
from .values import as_text, compare

if TYPE_CHECKING:
    from .queries import SelectQuery

Value = str | int | float | bool


@dataclass(frozen=True)
class Condition:
    """`property` equals one of `values`, or (values empty) starts with `prefix`."""

    property: str
    values: tuple[Value, ...] = ()
    prefix: str | None = None


@dataclass(frozen=True)
class Pushdown:
    classname: str
    conditions: tuple[Condition, ...] = ()
    paths: tuple[CIMInstanceName, ...] = ()  # from `__PATH = '…'`; any order of keys
    fold: bool = True  # string comparison is case-insensitive (WQL)

    def values_for(self, name: str) -> tuple[Value, ...] | None:
        """The values `name` must take (the first equality found), or None."""
        for condition in self.conditions:
            if condition.property.lower() == name.lower() and condition.values:
                return condition.values
        return None

    def prefix_for(self, name: str) -> str | None:
        for condition in self.conditions:
            if condition.property.lower() == name.lower() and condition.prefix is not None:
                return condition.prefix
        return None

    def admits(self, name: str, value: object) -> bool:
        """False when `value` for property `name` rules the instance out."""
        for condition in self.conditions:
            if condition.property.lower() != name.lower():
                continue
            if condition.values and not any(
                    compare("=", value, wanted, fold=self.fold) for wanted in condition.values):
                return False
            if condition.prefix is not None:
                text = as_text(value)
                if text is None:
                    return False
                prefix = condition.prefix
                if self.fold:
                    text, prefix = text.casefold(), prefix.casefold()
                if not text.startswith(prefix):
                    return False
        return True


def pushdown(query: SelectQuery) -> Pushdown:
    own = {query.from_class.lower()} | ({query.alias.lower()} if query.alias else set())
    conditions: list[Condition] = []
    paths: list[CIMInstanceName] = []
    dialect = "WQL" if query.language == "WQL" else "DMTF:CQL"
    for term in conjuncts(query.where):
        path = _path_equality(term, own)
        if path is not None:
            paths.append(path)
            continue
        condition = _condition(term, own, dialect)
        if condition is not None:
            conditions.append(condition)
    return Pushdown(query.from_class, tuple(conditions), tuple(paths),
                    fold=query.language == "WQL")


def _own_property(expr: Expr, own: set[str]) -> str | None:
    """The name of a property of the instance itself (`Name`, `cs.Name`)."""
    if not isinstance(expr, Property):
        return None
    chain = expr.chain()
    if chain is None:
        return None
    if len(chain) == 2 and chain[0].lower() in own:
        chain = chain[1:]
    if len(chain) != 1 or chain[0].startswith("__"):
        return None
    return chain[0]


def _value(expr: Expr) -> Value | None:
    if isinstance(expr, Literal) and expr.value is not None:
        return expr.value
    return None


def _equality(term: Expr, own: set[str]) -> tuple[str, Value] | None:
    if not isinstance(term, Comparison) or term.op != "=":
        return None
    for side, other in ((term.left, term.right), (term.right, term.left)):
        name, value = _own_property(side, own), _value(other)
        if name is not None and value is not None:
            return name, value
    return None


def _condition(term: Expr, own: set[str], dialect: str) -> Condition | None:
    equality = _equality(term, own)
    if equality is not None:
        return Condition(equality[0], (equality[1],))
    if isinstance(term, InList) and not term.negated:
        name = _own_property(term.operand, own)
        values = [_value(item) for item in term.items]
        if name is not None and all(v is not None for v in values):
            return Condition(name, tuple(v for v in values if v is not None))
    if isinstance(term, Or):
        equalities = [_equality(operand, own) for operand in term.operands]
        names = {e[0].lower() for e in equalities if e is not None}
        if None not in equalities and len(names) == 1:
            return Condition(equalities[0][0], tuple(e[1] for e in equalities if e))
    if isinstance(term, Like) and not term.negated:
        name, pattern = _own_property(term.operand, own), _value(term.pattern)
        if name is None or not isinstance(pattern, str):
            return None
        compiled = compile_like(pattern, dialect, True)  # type: ignore[arg-type]
        prefix, anything = compiled.literal_prefix()
        if compiled.is_plain():
            return Condition(name, (prefix,))
        if anything and prefix:
            return Condition(name, prefix=prefix)
    return None


def _path_equality(term: Expr, own: set[str]) -> CIMInstanceName | None:
    if not isinstance(term, Comparison) or term.op != "=":
        return None
    for side, other in ((term.left, term.right), (term.right, term.left)):
        if (isinstance(side, Property) and side.owner is None
                and side.name.lower() == "__path" and isinstance(_value(other), str)):
            try:
                path = parse_object_path(str(_value(other)))
            except ObjectPathError:
                return None
            return path if isinstance(path, CIMInstanceName) else None
    return None
