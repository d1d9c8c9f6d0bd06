"""Builders that turn lark reductions into the typed query tree.

lark calls one method per grammar rule (or alias) as the LALR parser
reduces it; the arguments are the rule's children already built. Keyword
tokens are anonymous in the grammar and never reach these methods.
"""

from __future__ import annotations

import math

from lark import Token, Transformer, v_args
from pywbem import CIMInstanceName

from .functions import FUNCTIONS
from .paths import ObjectPathError, parse_object_path
from .queries import AssociatorsQuery, ReferencesQuery, SelectQuery
from .tree import (AllProperties, And, Arithmetic, Comparison, Expr, FunctionCall, Index,
                   InList, IsNull, Isa, Like, Literal, Negate, Not, Or, OrderItem, Property,
                   Satisfies)


class QuerySyntaxError(Exception):
    """A syntax error found by a builder, with the place it was found."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None):
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column

    def describe(self, text: str) -> str:
        if self.column is None:
            return self.message
        where = (f"line {self.line}, column {self.column}" if self.line and self.line > 1
                 else f"column {self.column}")
        return f"{self.message} at {where}"


# Words of the languages that can never name a class: lark's contextual
# lexer would read `SELECT * FROM WHERE` as a query of a class named WHERE.
RESERVED_WORDS = frozenset({
    "select", "from", "where", "and", "or", "not", "like", "is", "isa", "null", "true", "false",
    "within", "group", "having", "by", "associators", "references", "of",
    "distinct", "as", "order", "asc", "desc", "in", "any", "every", "satisfies", "exists",
})


def class_name(token: Token, what: str = "class name") -> str:
    """The FROM class (or a CQL alias), refusing a reserved word."""
    if str(token).lower() in RESERVED_WORDS:
        raise QuerySyntaxError(f"expected a {what} after FROM, found the reserved word {str(token).upper()}",
                               token.line, token.column)
    return str(token)


def decode_string(token: str, doubled_quotes: bool) -> str:
    """The value of a quoted literal. A backslash escapes a backslash or a
    quote; before anything else it is kept, so raw Windows paths pasted into
    a query (`'%\\Default'`, os-win's `__PATH` text) keep their backslashes."""
    quote, body = token[0], token[1:-1]
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            out.append(nxt if nxt in "\\'\"" else ch + nxt)
            i += 2
        elif doubled_quotes and ch == quote and i + 1 < len(body) and body[i + 1] == quote:
            out.append(quote)
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _number(token: Token) -> Literal:
    text = str(token)
    if text[:2].lower() == "0x":
        return Literal(int(text, 16))
    if any(ch in text for ch in ".eE"):
        value = float(text)
        if not math.isfinite(value):
            raise QuerySyntaxError(f"number {text} is out of range", token.line, token.column)
        return Literal(value)
    return Literal(int(text))


def _negated(literal: Literal) -> Literal:
    value = literal.value
    assert isinstance(value, (int, float)) and not isinstance(value, bool)
    return Literal(-value)


@v_args(inline=True)
class _CommonBuilder(Transformer):
    doubled_quotes = False

    def or_expr(self, *operands: Expr) -> Expr:
        return Or(tuple(operands))

    def and_expr(self, *operands: Expr) -> Expr:
        return And(tuple(operands))

    def negation(self, operand: Expr) -> Expr:
        return Not(operand)

    def comparison(self, left: Expr, op: str, right: Expr) -> Expr:
        return Comparison(op, left, right)  # type: ignore[arg-type]

    def comp_op(self, token: Token) -> str:
        return "<>" if token == "!=" else str(token)

    def like(self, operand: Expr, pattern: Expr) -> Expr:
        return Like(operand, pattern)

    def not_like(self, operand: Expr, pattern: Expr) -> Expr:
        return Like(operand, pattern, negated=True)

    def is_null(self, operand: Expr) -> Expr:
        return IsNull(operand)

    def is_not_null(self, operand: Expr) -> Expr:
        return IsNull(operand, negated=True)

    def isa(self, operand: Expr, classname: str) -> Expr:
        return Isa(operand, classname)

    def class_ref(self, token: Token) -> str:
        if token.type == "STRING":
            return decode_string(str(token), self.doubled_quotes).strip()
        return str(token)

    def string(self, token: Token) -> Expr:
        return Literal(decode_string(str(token), self.doubled_quotes))

    def number(self, token: Token) -> Expr:
        return _number(token)

    def true(self) -> Expr:
        return Literal(True)

    def false(self) -> Expr:
        return Literal(False)

    def null(self) -> Expr:
        return Literal(None)

    def select_star(self) -> tuple[AllProperties, ...]:
        return (AllProperties(),)


@v_args(inline=True)
class WqlBuilder(_CommonBuilder):
    def select(self, items: tuple, from_class: Token, within: float | None,
               where: Expr | None) -> SelectQuery:
        return SelectQuery("WQL", items, class_name(from_class), where, within=within)

    def within(self, token: Token) -> float:
        return float(_number(token).value)  # type: ignore[arg-type]

    def select_items(self, *items: Expr) -> tuple[Expr, ...]:
        return items

    def chain(self, *names: Token) -> Expr:
        node: Property | None = None
        for name in names:
            node = Property(str(name), node)
        assert node is not None
        return node

    def negative_number(self, token: Token) -> Expr:
        return _negated(_number(token))

    def associators(self, path: Token, *options: tuple[str, str, Token] | None) -> Expr:
        settings = _options(options, _ASSOCIATORS_OPTIONS, "ASSOCIATORS OF")
        if settings.get("class_defs_only") and settings.get("result_class"):
            raise QuerySyntaxError("ClassDefsOnly and ResultClass cannot be combined",
                                   path.line, path.column)
        return AssociatorsQuery(_object_path(path), **settings)

    def references(self, path: Token, *options: tuple[str, str, Token] | None) -> Expr:
        settings = _options(options, _REFERENCES_OPTIONS, "REFERENCES OF")
        return ReferencesQuery(_object_path(path), **settings)

    def named_option(self, name: Token, value: str) -> tuple[str, str, Token]:
        return (str(name).lower(), value, name)

    def flag_option(self, name: Token) -> tuple[str, bool, Token]:
        return (str(name).lower(), True, name)

    def option_value(self, token: Token) -> str:
        if token.type == "STRING":
            return decode_string(str(token), False)
        return str(token)


_ASSOCIATORS_OPTIONS = {
    "assocclass": "assoc_class", "resultclass": "result_class", "role": "role",
    "resultrole": "result_role", "requiredqualifier": "required_qualifier",
    "requiredassocqualifier": "required_assoc_qualifier",
    "classdefsonly": "class_defs_only", "keysonly": "keys_only", "schemaonly": "schema_only",
}
_REFERENCES_OPTIONS = {
    "resultclass": "result_class", "role": "role", "requiredqualifier": "required_qualifier",
    "classdefsonly": "class_defs_only", "keysonly": "keys_only", "schemaonly": "schema_only",
}


def _options(options: tuple, allowed: dict[str, str], statement: str) -> dict[str, object]:
    settings: dict[str, object] = {}
    for option in options:
        if option is None:
            continue
        name, value, token = option
        field = allowed.get(name)
        if field is None:
            raise QuerySyntaxError(f"{statement} does not take {token}",
                                   token.line, token.column)
        if field in settings:
            raise QuerySyntaxError(f"{token} is given twice", token.line, token.column)
        settings[field] = value
    return settings


def _object_path(token: Token) -> CIMInstanceName:
    text = str(token)[1:-1]
    try:
        return parse_object_path(text)  # type: ignore[return-value]
    except ObjectPathError as exc:
        raise QuerySyntaxError(f"invalid object path {{{text}}}: {exc}",
                               token.line, token.column) from None


@v_args(inline=True)
class CqlBuilder(_CommonBuilder):
    doubled_quotes = True

    def select(self, distinct: bool | None, items: tuple, from_class: Token,
               alias: str | None, where: Expr | None,
               order_by: tuple[OrderItem, ...] | None) -> SelectQuery:
        return SelectQuery("DMTF:CQL", items, class_name(from_class), where, alias=alias,
                           distinct=bool(distinct), order_by=order_by or ())

    def distinct(self) -> bool:
        return True

    def alias(self, name: Token) -> str:
        return class_name(name, "class alias")

    def order_by(self, *items: OrderItem) -> tuple[OrderItem, ...]:
        return items

    def order_item(self, expr: Expr, direction: str | None) -> OrderItem:
        return OrderItem(expr, direction == "DESC")

    def direction(self, token: Token) -> str:
        return str(token).upper()

    def select_items(self, *items: Expr | AllProperties) -> tuple:
        return items

    def select_expr(self, expr: Expr) -> Expr:
        if not isinstance(expr, (Property, Index)):
            raise QuerySyntaxError("a select list names properties, not expressions")
        return expr

    def select_all_of(self, owner: Expr) -> AllProperties:
        return AllProperties(owner)

    def sum(self, *parts: Expr | str) -> Expr:
        return _fold(parts)

    def product(self, *parts: Expr | str) -> Expr:
        return _fold(parts)

    def add_op(self, token: Token) -> str:
        return str(token)

    def mul_op(self, token: Token) -> str:
        return str(token)

    def negate(self, operand: Expr) -> Expr:
        if (isinstance(operand, Literal) and isinstance(operand.value, (int, float))
                and not isinstance(operand.value, bool)):
            return _negated(operand)
        return Negate(operand)

    def member(self, owner: Expr, name: Token) -> Expr:
        return Property(str(name), owner)

    def index(self, array: Expr, index: Expr) -> Expr:
        return Index(array, index)

    def name(self, token: Token) -> Expr:
        return Property(str(token))

    def function(self, name: Token, args: tuple[Expr, ...] | None) -> Expr:
        function = FUNCTIONS.get(str(name).upper())
        if function is None:
            raise QuerySyntaxError(f"unknown function {name}()", name.line, name.column)
        args = args or ()
        if not function.min_args <= len(args) <= function.max_args:
            wanted = (str(function.min_args) if function.min_args == function.max_args
                      else f"{function.min_args} to {function.max_args}")
            raise QuerySyntaxError(f"{function.name}() takes {wanted} arguments, "
                                   f"not {len(args)}", name.line, name.column)
        return FunctionCall(function.name, tuple(args))

    def expr_list(self, *exprs: Expr) -> tuple[Expr, ...]:
        return exprs

    def in_list(self, operand: Expr, items: tuple[Expr, ...]) -> Expr:
        return InList(operand, items)

    def not_in_list(self, operand: Expr, items: tuple[Expr, ...]) -> Expr:
        return InList(operand, items, negated=True)

    def quantifier(self, token: Token) -> str:
        return str(token).upper()

    def satisfies(self, quantifier: str, variable: Token, array: Expr,
                  condition: Expr) -> Expr:
        return Satisfies(quantifier, str(variable), array, condition)  # type: ignore[arg-type]


def _fold(parts: tuple[Expr | str, ...]) -> Expr:
    """`a + b - c` arrives flat; arithmetic associates to the left."""
    node = parts[0]
    for i in range(1, len(parts), 2):
        node = Arithmetic(parts[i], node, parts[i + 1])  # type: ignore[arg-type]
    assert isinstance(node, Expr)
    return node
