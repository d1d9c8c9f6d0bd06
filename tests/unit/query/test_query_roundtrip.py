"""parse(print(tree)) == tree for generated WQL and CQL trees."""

from __future__ import annotations

from hypothesis import given, settings, strategies as st
from pywbem import CIMInstanceName

from cimprovider.query import (AllProperties, And, Arithmetic, AssociatorsQuery, Comparison,
                               FunctionCall, Index, InList, IsNull, Isa, Like, Literal, Negate,
                               Not, Or, OrderItem, Property, ReferencesQuery, Satisfies,
                               SelectQuery, format_query, parse_query)
from cimprovider.query.functions import FUNCTIONS

KEYWORDS = {
    "select", "from", "where", "and", "or", "not", "like", "is", "null", "isa", "true",
    "false", "within", "associators", "references", "of", "distinct", "as", "order", "by",
    "asc", "desc", "in", "any", "every", "satisfies",
}

names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,7}", fullmatch=True).filter(
    lambda n: n.lower() not in KEYWORDS)
strings = st.text(max_size=12)
numbers = st.one_of(st.integers(-10**12, 10**12),
                    st.floats(allow_nan=False, allow_infinity=False, width=64))
literals = st.one_of(strings, numbers, st.booleans(), st.none()).map(Literal)


def chains(max_length: int = 3):
    def build(parts: list[str]) -> Property:
        node = None
        for part in parts:
            node = Property(part, node)
        return node
    return st.lists(names, min_size=1, max_size=max_length).map(build)


# --- WQL -------------------------------------------------------------------------
wql_operand = st.one_of(literals, chains())
comparison_ops = st.sampled_from(["=", "<>", "<", ">", "<=", ">="])
wql_predicate = st.one_of(
    st.builds(Comparison, comparison_ops, wql_operand, wql_operand),
    st.builds(Like, wql_operand, wql_operand, st.booleans()),
    st.builds(IsNull, wql_operand, st.booleans()),
    st.builds(Isa, chains(), names))


def _boolean(children):
    return st.one_of(
        st.builds(Not, children),
        st.lists(children, min_size=2, max_size=3).map(lambda xs: And(tuple(xs))),
        st.lists(children, min_size=2, max_size=3).map(lambda xs: Or(tuple(xs))))


wql_where = st.recursive(wql_predicate, _boolean, max_leaves=8)
wql_select = st.builds(
    lambda items, cls, within, where: SelectQuery("WQL", items, cls, where, within=within),
    st.one_of(st.just((AllProperties(),)), st.lists(chains(), min_size=1, max_size=3).map(tuple)),
    names,
    st.one_of(st.none(), st.floats(0, 1e6, allow_nan=False)),
    st.one_of(st.none(), wql_where))


@settings(max_examples=300, deadline=None)
@given(wql_select)
def test_wql_select_round_trips(query: SelectQuery) -> None:
    text = format_query(query)
    assert parse_query("WQL", text) == query, text


key_values = st.one_of(st.text(max_size=10), st.integers(-1000, 1000), st.booleans())
object_paths = st.builds(
    lambda cls, keys, namespace, host: CIMInstanceName(
        cls, keybindings=keys, namespace=namespace, host=host if namespace else None),
    names, st.dictionaries(names, key_values, max_size=3),
    st.one_of(st.none(), st.sampled_from(["root/virtualization/v2", "root/cimv2", "interop"])),
    st.one_of(st.none(), st.sampled_from(["HOST", "host.example.com", "10.0.0.1"])))
optional_names = st.one_of(st.none(), names)


def _unique_keys(path: CIMInstanceName) -> bool:
    return len({k.lower() for k in path.keybindings}) == len(path.keybindings)


associators = st.builds(
    AssociatorsQuery, object_paths.filter(_unique_keys), optional_names, st.none(),
    optional_names, optional_names, optional_names, optional_names,
    st.booleans(), st.booleans(), st.booleans())
references = st.builds(
    ReferencesQuery, object_paths.filter(_unique_keys), optional_names, optional_names,
    optional_names, st.booleans(), st.booleans(), st.booleans())


@settings(max_examples=200, deadline=None)
@given(st.one_of(associators, references))
def test_association_queries_round_trip(query) -> None:
    text = format_query(query)
    assert parse_query("WQL", text) == query, text


# --- CQL -------------------------------------------------------------------------
def _functions(children):
    candidates = [f for f in FUNCTIONS.values()]
    return st.sampled_from(candidates).flatmap(lambda f: st.lists(
        children, min_size=f.min_args, max_size=f.max_args).map(
            lambda args: FunctionCall(f.name, tuple(args))))


def _cql_values(children):
    postfix_owner = st.one_of(chains(2), _functions(children))
    return st.one_of(
        st.builds(Property, names, postfix_owner),
        st.builds(Index, chains(2), children),
        _functions(children),
        st.builds(Arithmetic, st.sampled_from(["+", "-", "*", "/", "||"]), children, children),
        st.builds(Negate, children.filter(lambda e: not (
            isinstance(e, Literal) and isinstance(e.value, (int, float))
            and not isinstance(e.value, bool)))),
        st.builds(Comparison, comparison_ops, children, children),
        st.builds(Like, children, children, st.booleans()),
        st.builds(IsNull, children, st.booleans()),
        st.builds(Isa, children, names),
        st.builds(InList, children, st.lists(children, min_size=1, max_size=3).map(tuple),
                  st.booleans()),
        st.builds(Satisfies, st.sampled_from(["ANY", "EVERY"]), names, chains(2), children),
        st.builds(Not, children),
        st.lists(children, min_size=2, max_size=3).map(lambda xs: And(tuple(xs))),
        st.lists(children, min_size=2, max_size=3).map(lambda xs: Or(tuple(xs))),
    )


cql_expr = st.recursive(st.one_of(literals, chains()), _cql_values, max_leaves=8)
cql_select_item = st.one_of(chains(), st.builds(Index, chains(2), cql_expr),
                            st.builds(AllProperties, chains(2)))
cql_select = st.builds(
    lambda distinct, items, cls, alias, where, order: SelectQuery(
        "DMTF:CQL", items, cls, where, alias=alias, distinct=distinct, order_by=order),
    st.booleans(),
    st.one_of(st.just((AllProperties(),)),
              st.lists(cql_select_item, min_size=1, max_size=3).map(tuple)),
    names, st.one_of(st.none(), names), st.one_of(st.none(), cql_expr),
    st.lists(st.builds(OrderItem, cql_expr, st.booleans()), max_size=2).map(tuple))


@settings(max_examples=400, deadline=None)
@given(cql_select)
def test_cql_select_round_trips(query: SelectQuery) -> None:
    text = format_query(query)
    assert parse_query("DMTF:CQL", text) == query, text
