"""WQL and DMTF:CQL: parse query text into one typed tree, print it back,
evaluate it against pywbem CIMInstances, and extract conditions a provider
can use to build fewer instances.

    query = parse_query("WQL", "SELECT * FROM Msvm_ComputerSystem WHERE Name = 'x'")
    if query.matches(instance, ctx):
        yield query.project(instance, ctx)
"""

from .evaluate import QueryContext, StaticQueryContext, class_is
from .events import WMI_TO_DMTF_EVENT, dmtf_event_class
from .like import LikePattern, compile_like, like
from .parser import MAX_NESTING, MAX_QUERY_LENGTH, parse_query, query_language
from .paths import (ObjectPathError, format_object_path, parse_object_path, path_matches_text,
                    paths_match)
from .printer import format_expression, format_query
from .pushdown import Condition, Pushdown
from .queries import AssociatorsQuery, Query, QueryLanguage, ReferencesQuery, SelectQuery
from .tree import (AllProperties, And, Arithmetic, Comparison, Expr, FunctionCall, Index,
                   InList, IsNull, Isa, Like, Literal, Negate, Not, Or, OrderItem, Property,
                   Satisfies)
from .values import compare

__all__ = [
    "AllProperties", "And", "Arithmetic", "AssociatorsQuery", "Comparison", "Condition",
    "Expr", "FunctionCall", "Index", "InList", "IsNull", "Isa", "Like", "LikePattern",
    "Literal", "MAX_NESTING", "MAX_QUERY_LENGTH", "Negate", "Not", "ObjectPathError", "Or",
    "OrderItem", "Property", "Pushdown", "Query", "QueryContext", "QueryLanguage",
    "ReferencesQuery", "Satisfies", "SelectQuery", "StaticQueryContext", "WMI_TO_DMTF_EVENT",
    "class_is", "compare", "compile_like", "dmtf_event_class", "format_expression",
    "format_object_path", "format_query", "like", "parse_object_path", "parse_query",
    "path_matches_text", "paths_match", "query_language",
]
