"""The parsed statements: SELECT (both languages), ASSOCIATORS OF and
REFERENCES OF (WQL).

Evaluation, printing and pushdown live in their own modules, which know the
statements only as types; the methods here are the entry points the
operation engine and indications call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Iterable, Literal as TypingLiteral, TypeAlias, Union

from pywbem import CIMClassName, CIMInstance, CIMInstanceName

from .evaluate import QueryContext, matches
from .events import counterpart_property, dmtf_event_class, is_event_class
from .printer import format_query
from .pushdown import Pushdown, pushdown
from .results import execute_query, project_instance
from .tree import AllProperties, Expr, Isa, OrderItem, Property, SelectItem, conjuncts


QueryLanguage: TypeAlias = TypingLiteral["WQL", "DMTF:CQL"]

# The embedded-object properties an event filter tests for the target class.
_TARGET_PROPERTIES = ("targetinstance", "sourceinstance")


@dataclass(frozen=True)
class SelectQuery:
    language: QueryLanguage
    select: tuple[SelectItem, ...]
    from_class: str
    where: Expr | None = None
    alias: str | None = None  # CQL `FROM Cls AS a`
    distinct: bool = False  # CQL
    order_by: tuple[OrderItem, ...] = ()  # CQL
    within: float | None = None  # WQL event polling interval, seconds

    statement: ClassVar[str] = "SELECT"

    def __str__(self) -> str:
        return format_query(self)

    @property
    def selects_all(self) -> bool:
        return any(isinstance(item, AllProperties) and item.owner is None
                   for item in self.select)

    @property
    def is_schema_query(self) -> bool:
        """WQL `SELECT * FROM meta_class WHERE __THIS ISA 'C'`: asks for classes."""
        return self.from_class.lower() == "meta_class"

    @property
    def is_event_query(self) -> bool:
        """FROM a WMI `__Instance*Event` or a DMTF `CIM_Inst*` class."""
        return is_event_class(self.from_class)

    @property
    def event_class(self) -> str | None:
        return self.from_class if self.is_event_query else None

    @property
    def indication_class(self) -> str | None:
        """The DMTF indication class a CIM-XML server delivers for this filter."""
        if not self.is_event_query:
            return None
        return dmtf_event_class(self.from_class) or self.from_class

    @property
    def target_class(self) -> str | None:
        """The class named by a top-level `TargetInstance ISA 'C'` (or
        `SourceInstance ISA C`): what an event filter is about."""
        for term in conjuncts(self.where):
            if (isinstance(term, Isa) and isinstance(term.operand, Property)
                    and term.operand.owner is None
                    and term.operand.name.lower() in _TARGET_PROPERTIES):
                return term.classname
        return None

    @property
    def target_property(self) -> str | None:
        """'TargetInstance' (WMI shape) or 'SourceInstance' (DMTF shape)."""
        for term in conjuncts(self.where):
            if (isinstance(term, Isa) and isinstance(term.operand, Property)
                    and term.operand.owner is None
                    and counterpart_property(term.operand.name) is not None):
                return term.operand.name
        return None

    def matches(self, instance: CIMInstance, ctx: QueryContext) -> bool:
        """FROM class (with subclasses) and WHERE both hold for `instance`."""
        return matches(self, instance, ctx)

    def project(self, instance: CIMInstance, ctx: QueryContext) -> CIMInstance:
        """A copy of `instance` holding only the selected properties."""
        return project_instance(self, instance, ctx)

    def execute(self, instances: Iterable[CIMInstance],
                ctx: QueryContext) -> list[CIMInstance]:
        """Filter, project, DISTINCT and ORDER BY over candidate instances."""
        return execute_query(self, instances, ctx)

    def pushdown(self) -> Pushdown:
        return pushdown(self)


ObjectPath: TypeAlias = Union[CIMInstanceName, CIMClassName]


@dataclass(frozen=True)
class AssociatorsQuery:
    """WQL `ASSOCIATORS OF {path} [WHERE …]`."""

    statement: ClassVar[str] = "ASSOCIATORS OF"

    object_path: ObjectPath
    assoc_class: str | None = None
    result_class: str | None = None
    role: str | None = None
    result_role: str | None = None
    required_qualifier: str | None = None
    required_assoc_qualifier: str | None = None
    class_defs_only: bool = False
    keys_only: bool = False
    schema_only: bool = False

    language = "WQL"

    def __str__(self) -> str:
        return format_query(self)


@dataclass(frozen=True)
class ReferencesQuery:
    """WQL `REFERENCES OF {path} [WHERE …]`."""

    statement: ClassVar[str] = "REFERENCES OF"

    object_path: ObjectPath
    result_class: str | None = None
    role: str | None = None
    required_qualifier: str | None = None
    class_defs_only: bool = False
    keys_only: bool = False
    schema_only: bool = False

    language = "WQL"

    def __str__(self) -> str:
        return format_query(self)


Query: TypeAlias = Union[SelectQuery, AssociatorsQuery, ReferencesQuery]
