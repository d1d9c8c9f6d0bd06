"""The expression tree shared by WQL and DMTF:CQL.

Nodes are frozen dataclasses so that two parses of the same text compare
equal and a parsed query can be cached and shared between threads. The
parser only builds shapes its language can print back; the printer relies on
that (a WQL tree never holds arithmetic, for instance).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Literal as TypingLiteral, TypeAlias, Union

LiteralValue: TypeAlias = Union[str, int, float, bool, None]

# '!=' is read as '<>': both languages treat them as the same operator.
ComparisonOperator: TypeAlias = TypingLiteral["=", "<>", "<", ">", "<=", ">="]
ArithmeticOperator: TypeAlias = TypingLiteral["+", "-", "*", "/", "||"]
Quantifier: TypeAlias = TypingLiteral["ANY", "EVERY"]


class Expr:
    """Base of every expression node."""

    __slots__ = ()

    def children(self) -> tuple["Expr", ...]:
        return ()


@dataclass(frozen=True, eq=False)
class Literal(Expr):
    """A constant. Equality includes the Python type: `'5'` is not `5`,
    and `1` is not `TRUE`, because WMI clients mean different things."""

    value: LiteralValue

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Literal) and type(other.value) is type(self.value)
                and other.value == self.value)

    def __hash__(self) -> int:
        return hash((type(self.value), self.value))


@dataclass(frozen=True)
class Property(Expr):
    """A property, read from `owner` (an embedded object, a reference, an
    array element) or, when owner is None, from the instance under test, a
    quantifier variable, the FROM alias or a system property (`__PATH`)."""

    name: str
    owner: Expr | None = None

    def children(self) -> tuple[Expr, ...]:
        return () if self.owner is None else (self.owner,)

    def chain(self) -> tuple[str, ...] | None:
        """`A.B.C` as ('A', 'B', 'C'); None if an index or call is in it."""
        names = [self.name]
        node = self.owner
        while node is not None:
            if not isinstance(node, Property):
                return None
            names.append(node.name)
            node = node.owner
        return tuple(reversed(names))


@dataclass(frozen=True)
class Index(Expr):
    """CQL `a[3]`: an element of an array property (0-based, DSP0202)."""

    array: Expr
    index: Expr

    def children(self) -> tuple[Expr, ...]:
        return (self.array, self.index)


@dataclass(frozen=True)
class FunctionCall(Expr):
    """A DSP0202 function; `name` is upper case and known to the parser."""

    name: str
    args: tuple[Expr, ...] = ()

    def children(self) -> tuple[Expr, ...]:
        return self.args


@dataclass(frozen=True)
class Negate(Expr):
    operand: Expr

    def children(self) -> tuple[Expr, ...]:
        return (self.operand,)


@dataclass(frozen=True)
class Arithmetic(Expr):
    """`+ - * /` on numbers and `||` on strings (CQL only)."""

    op: ArithmeticOperator
    left: Expr
    right: Expr

    def children(self) -> tuple[Expr, ...]:
        return (self.left, self.right)


@dataclass(frozen=True)
class Comparison(Expr):
    op: ComparisonOperator
    left: Expr
    right: Expr

    def children(self) -> tuple[Expr, ...]:
        return (self.left, self.right)


@dataclass(frozen=True)
class Like(Expr):
    operand: Expr
    pattern: Expr
    negated: bool = False

    def children(self) -> tuple[Expr, ...]:
        return (self.operand, self.pattern)


@dataclass(frozen=True)
class IsNull(Expr):
    operand: Expr
    negated: bool = False

    def children(self) -> tuple[Expr, ...]:
        return (self.operand,)


@dataclass(frozen=True)
class Isa(Expr):
    """`TargetInstance ISA 'Msvm_ComputerSystem'`: class or subclass."""

    operand: Expr
    classname: str

    def children(self) -> tuple[Expr, ...]:
        return (self.operand,)


@dataclass(frozen=True)
class InList(Expr):
    """CQL `x IN (a, b, c)`."""

    operand: Expr
    items: tuple[Expr, ...]
    negated: bool = False

    def children(self) -> tuple[Expr, ...]:
        return (self.operand, *self.items)


@dataclass(frozen=True)
class Satisfies(Expr):
    """CQL `ANY x IN arr SATISFIES (cond)` / `EVERY …`."""

    quantifier: Quantifier
    variable: str
    array: Expr
    condition: Expr

    def children(self) -> tuple[Expr, ...]:
        return (self.array, self.condition)


@dataclass(frozen=True)
class Not(Expr):
    operand: Expr

    def children(self) -> tuple[Expr, ...]:
        return (self.operand,)


@dataclass(frozen=True)
class And(Expr):
    """n-ary so that long chains of conditions stay shallow."""

    operands: tuple[Expr, ...]

    def children(self) -> tuple[Expr, ...]:
        return self.operands


@dataclass(frozen=True)
class Or(Expr):
    operands: tuple[Expr, ...]

    def children(self) -> tuple[Expr, ...]:
        return self.operands


def walk(expr: Expr) -> Iterator[Expr]:
    """Every node, depth first, without recursion."""
    stack = [expr]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(node.children()))


def depth(expr: Expr) -> int:
    """Nesting depth, computed without recursion (hostile trees are deep)."""
    deepest = 0
    stack = [(expr, 1)]
    while stack:
        node, level = stack.pop()
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in node.children())
    return deepest


def conjuncts(expr: Expr | None) -> tuple[Expr, ...]:
    """The top-level AND terms: each one must hold for the whole to hold."""
    if expr is None:
        return ()
    if not isinstance(expr, And):
        return (expr,)
    terms: list[Expr] = []
    stack = list(reversed(expr.operands))
    while stack:
        node = stack.pop()
        if isinstance(node, And):
            stack.extend(reversed(node.operands))
        else:
            terms.append(node)
    return tuple(terms)


@dataclass(frozen=True)
class AllProperties:
    """`*` in a select list, or CQL `cs.*` / `SourceInstance.*` when owner is set."""

    owner: Expr | None = None


SelectItem: TypeAlias = Union[Expr, AllProperties]


@dataclass(frozen=True)
class OrderItem:
    """One CQL ORDER BY term."""

    expr: Expr
    descending: bool = False
