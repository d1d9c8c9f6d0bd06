"""Hypothesis strategies that turn valid seeds into hostile inputs: byte
edits with CIM-XML vocabulary (so many mutants still parse and reach the
decoders), element-level edits of the parsed tree, and token edits of
queries."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st
from lxml import etree

from seeds import QUERY_SEEDS, QUERY_WORDS, XML_WORDS

TAGS = ["CIM", "MESSAGE", "SIMPLEREQ", "IMETHODCALL", "METHODCALL", "IPARAMVALUE", "PARAMVALUE",
        "VALUE", "VALUE.ARRAY", "VALUE.REFERENCE", "VALUE.REFARRAY", "INSTANCENAME", "KEYBINDING",
        "KEYVALUE", "INSTANCE", "PROPERTY", "PROPERTY.ARRAY", "PROPERTY.REFERENCE", "CLASSNAME",
        "LOCALNAMESPACEPATH", "NAMESPACE", "NAMESPACEPATH", "HOST", "INSTANCEPATH",
        "LOCALINSTANCEPATH", "QUALIFIER", "CLASS", "METHOD", "ENUMERATIONCONTEXT", "X"]
ATTRIBUTES = ["NAME", "TYPE", "PARAMTYPE", "CLASSNAME", "VALUETYPE", "EmbeddedObject",
              "EMBEDDEDOBJECT", "CIMVERSION", "DTDVERSION", "ID", "PROTOCOLVERSION", "ARRAYSIZE",
              "REFERENCECLASS", "CLASSORIGIN", "PROPAGATED"]
texts = st.one_of(st.sampled_from(["", "0", "-1", "TRUE", "x" * 300, "uint64", "string",
                                   "reference", "instance", "object", "root/interop", "\\\\"]),
                  st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=24))
positions = st.integers(min_value=0, max_value=1 << 20)


def _apply_byte_edit(body: bytes, edit: tuple[Any, ...]) -> bytes:
    kind, at, size, token = edit
    at = at % (len(body) + 1)
    if kind == "delete":
        return body[:at] + body[at + size:]
    if kind == "insert":
        return body[:at] + token + body[at:]
    if kind == "replace":
        return body[:at] + token + body[at + size:]
    if kind == "nest":
        return body[:at] + b"<VALUE.ARRAY>" * size * 8 + body[at:]
    return body[:at] + body[at:at + size] * 2 + body[at + size:]


byte_edits = st.tuples(st.sampled_from(["delete", "insert", "replace", "duplicate", "nest"]),
                       positions, st.integers(0, 64),
                       st.one_of(st.sampled_from(XML_WORDS), st.binary(max_size=12)))


def _apply_tree_edit(root: Any, edit: tuple[Any, ...]) -> None:
    kind, which, name, text = edit
    elements = list(root.iter())
    element = elements[which % len(elements)]
    parent = element.getparent()
    if kind == "rename":
        element.tag = TAGS[which % len(TAGS)]
    elif kind == "attribute":
        element.set(name, text)
    elif kind == "drop-attribute" and element.attrib:
        del element.attrib[sorted(element.attrib)[which % len(element.attrib)]]
    elif kind == "text":
        element.text = text
    elif kind == "remove" and parent is not None:
        parent.remove(element)
    elif kind == "duplicate" and parent is not None:
        parent.append(etree.fromstring(etree.tostring(element)))
    elif kind == "adopt" and parent is not None:
        element.append(etree.fromstring(etree.tostring(parent)))


tree_edits = st.tuples(st.sampled_from(["rename", "attribute", "drop-attribute", "text",
                                        "remove", "duplicate", "adopt"]),
                       positions, st.sampled_from(ATTRIBUTES), texts)


@st.composite
def requests(draw: Any, seeds: list[bytes]) -> bytes:
    body = draw(st.sampled_from(seeds))
    if draw(st.booleans()):
        root = etree.fromstring(body)
        for edit in draw(st.lists(tree_edits, min_size=1, max_size=4)):
            _apply_tree_edit(root, edit)
        body = etree.tostring(root)
    for edit in draw(st.lists(byte_edits, max_size=2)):
        body = _apply_byte_edit(body, edit)
    return body


def _tokens(text: str) -> list[str]:
    return text.replace("(", " ( ").replace(")", " ) ").replace(",", " , ").split()


@st.composite
def queries(draw: Any) -> tuple[str, str]:
    language = draw(st.sampled_from(["WQL", "DMTF:CQL", "CQL", "wql", "dmtf:cql", "XQL"]))
    if draw(st.integers(0, 4)) == 0:
        words = draw(st.lists(st.one_of(st.sampled_from(QUERY_WORDS), st.text(max_size=6)),
                              max_size=30))
        return language, " ".join(words)
    seed_language, text = draw(st.sampled_from(QUERY_SEEDS))
    tokens = _tokens(text)
    for _ in range(draw(st.integers(1, 2))):
        at = draw(positions) % (len(tokens) + 1)
        kind = draw(st.sampled_from(["insert", "delete", "replace", "replace", "chars", "repeat"]))
        word = draw(st.one_of(st.sampled_from(QUERY_WORDS), st.text(max_size=8)))
        if kind == "insert":
            tokens.insert(at, word)
        elif kind == "delete" and tokens:
            del tokens[at % len(tokens)]
        elif kind == "replace" and tokens:
            tokens[at % len(tokens)] = word
        elif kind == "repeat":
            tokens[at:at] = ["("] * draw(st.integers(1, 150)) + ["1"] + [")"] * draw(st.integers(0, 150))
        else:
            joined = " ".join(tokens)
            tokens = _tokens(joined[:at] + word + joined[at:])
    return (seed_language if draw(st.booleans()) else language), " ".join(tokens)
