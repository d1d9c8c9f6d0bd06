"""Query trees back to query text that parses to an equal tree.

Parentheses are added only where the tree's shape needs them: a child that
binds more loosely than its parent, and an AND inside an AND or an OR inside
an OR (the parser flattens those, so the grouping must be kept visible).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from .paths import format_object_path
from .tree import (AllProperties, And, Arithmetic, Comparison, Expr, FunctionCall, Index,
                   InList, IsNull, Isa, Like, Literal, Negate, Not, Or, Property, Satisfies)

if TYPE_CHECKING:
    from .queries import AssociatorsQuery, Query, ReferencesQuery, SelectQuery

# Binding strength, loosest first.
_OR, _AND, _NOT, _PREDICATE, _ADD, _MUL, _UNARY, _POSTFIX = range(1, 9)
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ARITHMETIC_LEVEL = {"+": _ADD, "-": _ADD, "||": _ADD, "*": _MUL, "/": _MUL}


def format_query(query: Query) -> str:
    # Dispatch on the statement each query names, so the statements need not be
    # imported here: they print themselves through this module.
    statement = query.statement
    if statement == "SELECT":
        return _format_select(query)  # type: ignore[arg-type]
    if statement == "ASSOCIATORS OF":
        return _format_association(statement, query, [
            ("AssocClass", query.assoc_class), ("ResultClass", query.result_class),
            ("Role", query.role), ("ResultRole", query.result_role),
            ("RequiredQualifier", query.required_qualifier),
            ("RequiredAssocQualifier", query.required_assoc_qualifier)])
    if statement == "REFERENCES OF":
        return _format_association(statement, query, [
            ("ResultClass", query.result_class), ("Role", query.role),
            ("RequiredQualifier", query.required_qualifier)])
    raise TypeError(f"not a query: {query!r}")


def _format_select(query: SelectQuery) -> str:
    language = query.language
    parts = ["SELECT"]
    if query.distinct:
        parts.append("DISTINCT")
    parts.append(", ".join(_format_item(item, language) for item in query.select))
    parts += ["FROM", query.from_class]
    if query.alias:
        parts += ["AS", query.alias]
    if query.within is not None:
        within = query.within
        parts += ["WITHIN", str(int(within)) if within.is_integer() else repr(within)]
    if query.where is not None:
        parts += ["WHERE", format_expression(query.where, language)]
    if query.order_by:
        parts += ["ORDER BY", ", ".join(
            format_expression(item.expr, language) + (" DESC" if item.descending else "")
            for item in query.order_by)]
    return " ".join(parts)


def _format_item(item: Expr | AllProperties, language: str) -> str:
    if isinstance(item, AllProperties):
        if item.owner is None:
            return "*"
        return _format(item.owner, language, _POSTFIX) + ".*"
    return format_expression(item, language)


def _format_association(statement: str, query: AssociatorsQuery | ReferencesQuery,
                        named: list[tuple[str, str | None]]) -> str:
    options = [f"{name} = {value}" for name, value in named if value is not None]
    for flag, name in (("class_defs_only", "ClassDefsOnly"), ("keys_only", "KeysOnly"),
                       ("schema_only", "SchemaOnly")):
        if getattr(query, flag):
            options.append(name)
    text = f"{statement} {{{format_object_path(query.object_path)}}}"
    return f"{text} WHERE {' '.join(options)}" if options else text


def format_literal(value: object) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return repr(value)
    escaped = str(value).replace("\\", "\\\\").replace("'", "\\'")
    return f"'{escaped}'"


def format_expression(expr: Expr, language: str = "WQL") -> str:
    return _format(expr, language, 0)


def _level(expr: Expr) -> int:
    if isinstance(expr, Or):
        return _OR
    if isinstance(expr, And):
        return _AND
    if isinstance(expr, Not):
        return _NOT
    if isinstance(expr, (Comparison, Like, IsNull, Isa, InList)):
        return _PREDICATE
    if isinstance(expr, Arithmetic):
        return _ARITHMETIC_LEVEL[expr.op]
    if isinstance(expr, Negate):
        return _UNARY
    if isinstance(expr, Literal) and isinstance(expr.value, (int, float)) \
            and not isinstance(expr.value, bool) and expr.value < 0:
        return _UNARY
    return _POSTFIX


def _format(expr: Expr, language: str, context: int) -> str:
    text = _bare(expr, language)
    return f"({text})" if _level(expr) < context else text


def _bare(expr: Expr, language: str) -> str:
    if isinstance(expr, Literal):
        return format_literal(expr.value)
    if isinstance(expr, Property):
        if expr.owner is None:
            return expr.name
        return f"{_format(expr.owner, language, _POSTFIX)}.{expr.name}"
    if isinstance(expr, Index):
        index = format_expression(expr.index, language)
        return f"{_format(expr.array, language, _POSTFIX)}[{index}]"
    if isinstance(expr, FunctionCall):
        return f"{expr.name}({', '.join(format_expression(a, language) for a in expr.args)})"
    if isinstance(expr, Negate):
        inner = _format(expr.operand, language, _UNARY)
        return f"- {inner}" if inner.startswith("-") else f"-{inner}"
    if isinstance(expr, Arithmetic):
        level = _ARITHMETIC_LEVEL[expr.op]
        return (f"{_format(expr.left, language, level)} {expr.op} "
                f"{_format(expr.right, language, level + 1)}")
    if isinstance(expr, Comparison):
        return (f"{_format(expr.left, language, _ADD)} {expr.op} "
                f"{_format(expr.right, language, _ADD)}")
    if isinstance(expr, Like):
        keyword = "NOT LIKE" if expr.negated else "LIKE"
        return (f"{_format(expr.operand, language, _ADD)} {keyword} "
                f"{_format(expr.pattern, language, _ADD)}")
    if isinstance(expr, IsNull):
        keyword = "IS NOT NULL" if expr.negated else "IS NULL"
        return f"{_format(expr.operand, language, _ADD)} {keyword}"
    if isinstance(expr, Isa):
        bare = language != "WQL" and _IDENTIFIER.fullmatch(expr.classname) is not None
        classname = expr.classname if bare else format_literal(expr.classname)
        return f"{_format(expr.operand, language, _ADD)} ISA {classname}"
    if isinstance(expr, InList):
        keyword = "NOT IN" if expr.negated else "IN"
        items = ", ".join(format_expression(item, language) for item in expr.items)
        return f"{_format(expr.operand, language, _ADD)} {keyword} ({items})"
    if isinstance(expr, Satisfies):
        return (f"{expr.quantifier} {expr.variable} IN {_format(expr.array, language, _POSTFIX)}"
                f" SATISFIES ({format_expression(expr.condition, language)})")
    if isinstance(expr, Not):
        return f"NOT {_format(expr.operand, language, _NOT)}"
    if isinstance(expr, And):
        return " AND ".join(_format(op, language, _AND + 1) for op in expr.operands)
    if isinstance(expr, Or):
        return " OR ".join(_format(op, language, _OR + 1) for op in expr.operands)
    raise TypeError(f"not an expression: {expr!r}")
