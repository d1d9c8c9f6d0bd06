"""parse_query: query text in, typed query tree out, or a CIMError.

lark's LALR parser builds the tree bottom-up through the builders in
`build.py` while it parses, so no recursion runs over the parse; hostile
input is bounded before and during the parse: a length limit, a nesting
limit enforced by the lexer as parentheses open, and a depth check on the
finished tree (NOT NOT NOT… and long arithmetic chains nest without
parentheses).
"""

from __future__ import annotations

import threading

from lark import Lark, Token
from lark.exceptions import (LarkError, UnexpectedCharacters, UnexpectedEOF,
                             UnexpectedInput, UnexpectedToken)
from pywbem import CIM_ERR_INVALID_QUERY, CIM_ERR_QUERY_LANGUAGE_NOT_SUPPORTED, CIMError

from .build import CqlBuilder, QuerySyntaxError, WqlBuilder
from .grammar import CQL_GRAMMAR, WQL_GRAMMAR
from .queries import Query, QueryLanguage, SelectQuery
from .tree import AllProperties, Expr, depth

MAX_QUERY_LENGTH = 128 * 1024
"""Characters; a real Hyper-V query is under a few kilobytes."""

MAX_NESTING = 100
"""Deepest parenthesis nesting and expression-tree depth accepted."""

_LANGUAGES: dict[str, QueryLanguage] = {"wql": "WQL", "dmtf:cql": "DMTF:CQL", "cql": "DMTF:CQL"}

_READABLE_TERMINALS = {
    "NAME": "a name", "STRING": "a string", "NUMBER": "a number",
    "OBJECT_PATH": "{object path}", "$END": "end of query",
    "ASSOC_NAMED": "AssocClass/ResultClass/Role/ResultRole/RequiredQualifier/"
                   "RequiredAssocQualifier",
    "ASSOC_FLAG": "ClassDefsOnly/KeysOnly/SchemaOnly",
}

_nesting = threading.local()


def _open(token: Token) -> Token:
    level = getattr(_nesting, "level", 0) + 1
    _nesting.level = level
    if level > MAX_NESTING:
        raise QuerySyntaxError(
            f"brackets nested more than {MAX_NESTING} deep", token.line, token.column)
    return token


def _close(token: Token) -> Token:
    _nesting.level = getattr(_nesting, "level", 0) - 1
    return token


_CALLBACKS = {"LPAR": _open, "LSQB": _open, "RPAR": _close, "RSQB": _close}


def _make_parser(grammar: str, builder: object) -> Lark:
    return Lark(grammar, parser="lalr", lexer="contextual", maybe_placeholders=True,
                transformer=builder, lexer_callbacks=_CALLBACKS, propagate_positions=False)


_GRAMMARS: dict[QueryLanguage, tuple[str, type]] = {
    "WQL": (WQL_GRAMMAR, WqlBuilder),
    "DMTF:CQL": (CQL_GRAMMAR, CqlBuilder),
}
_PARSERS: dict[QueryLanguage, Lark] = {}
_PARSERS_LOCK = threading.Lock()


def _parser(language: QueryLanguage) -> Lark:
    """The language's parser, built on its first query: building both
    grammars costs some 3 MB and half a second of every server's start,
    and most servers never see a query."""
    parser = _PARSERS.get(language)
    if parser is None:
        with _PARSERS_LOCK:
            parser = _PARSERS.get(language)
            if parser is None:
                grammar, builder = _GRAMMARS[language]
                parser = _PARSERS[language] = _make_parser(grammar, builder())
    return parser


def query_language(name: str) -> QueryLanguage:
    """The canonical language name, or CIM_ERR_QUERY_LANGUAGE_NOT_SUPPORTED."""
    language = _LANGUAGES.get(str(name).strip().lower())
    if language is None:
        raise CIMError(CIM_ERR_QUERY_LANGUAGE_NOT_SUPPORTED,
                       f"query language {name!r} is not supported; use WQL or DMTF:CQL")
    return language


def parse_query(language: str, text: str) -> Query:
    """Parse `text` in `language` ("WQL", "DMTF:CQL" or "CQL", any case)."""
    canonical = query_language(language)
    if not isinstance(text, str) or not text.strip():
        raise CIMError(CIM_ERR_INVALID_QUERY, "the query text is empty")
    if len(text) > MAX_QUERY_LENGTH:
        raise CIMError(CIM_ERR_INVALID_QUERY,
                       f"the query is {len(text)} characters long; "
                       f"the limit is {MAX_QUERY_LENGTH}")
    _nesting.level = 0
    try:
        query = _parser(canonical).parse(text)
    except QuerySyntaxError as exc:
        raise CIMError(CIM_ERR_INVALID_QUERY, f"{canonical}: {exc.describe(text)}") from None
    except UnexpectedInput as exc:
        raise CIMError(CIM_ERR_INVALID_QUERY,
                       f"{canonical}: {_describe(exc, text, _parser(canonical))}") from None
    except LarkError as exc:
        # lark wraps errors raised inside a builder callback.
        cause = getattr(exc, "orig_exc", None) or exc.__context__
        if isinstance(cause, QuerySyntaxError):
            raise CIMError(CIM_ERR_INVALID_QUERY,
                           f"{canonical}: {cause.describe(text)}") from None
        raise CIMError(CIM_ERR_INVALID_QUERY, f"{canonical}: {exc}") from None
    _check_depth(query, canonical)
    return query


def _check_depth(query: Query, language: QueryLanguage) -> None:
    if not isinstance(query, SelectQuery):
        return
    expressions = [query.where, *(item.expr for item in query.order_by)]
    for item in query.select:
        expressions.append(item.owner if isinstance(item, AllProperties) else item)
    for expr in expressions:
        if isinstance(expr, Expr) and depth(expr) > MAX_NESTING:
            raise CIMError(CIM_ERR_INVALID_QUERY,
                           f"{language}: the expression nests more than "
                           f"{MAX_NESTING} levels deep")


def _position(line: int | None, column: int | None, text: str) -> str:
    if line is not None and line > 1:
        return f"line {line}, column {column}"
    return f"column {column}"


def _describe(exc: UnexpectedInput, text: str, parser: Lark) -> str:
    where = _position(exc.line, exc.column, text)
    if isinstance(exc, UnexpectedCharacters):
        if exc.char in "'\"":
            return f"unterminated string starting at {where}"
        if exc.char == "{":
            return f"unterminated object path starting at {where}"
        return f"unexpected character {exc.char!r} at {where}"
    if isinstance(exc, UnexpectedEOF):
        return f"unexpected end of query{_expected(exc.expected, parser)}"
    if isinstance(exc, UnexpectedToken):
        token = exc.token
        if token.type == "$END":
            return f"unexpected end of query{_expected(exc.expected, parser)}"
        return f"unexpected {str(token)!r} at {where}{_expected(exc.expected, parser)}"
    return f"syntax error at {where}"


def _expected(names: set[str] | list[str] | None, parser: Lark) -> str:
    if not names:
        return ""
    readable = sorted({_terminal_text(name, parser) for name in names})
    if len(readable) > 20:
        return ""
    return "; expected " + (readable[0] if len(readable) == 1
                            else "one of " + ", ".join(readable))


def _terminal_text(name: str, parser: Lark) -> str:
    if name in _READABLE_TERMINALS:
        return _READABLE_TERMINALS[name]
    try:
        pattern = parser.get_terminal(name).pattern
    except KeyError:
        return name
    if pattern.type == "str":
        value = pattern.value
        return value.upper() if value.isalpha() else repr(value)
    return name
