"""Hardened XML parsing for untrusted CIM-XML: no DTD, no entities, no
network, bounded depth and element count.

A CIM-XML request never needs a DTD (DSP0201 documents are validated by the
receiver's own knowledge of the DTD), so any DOCTYPE or ENTITY declaration is
refused before libxml2 sees the body. That closes external entities
(file reads, SSRF) and entity expansion bombs at once, whatever the parser
flags do.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass

from lxml import etree

from cimprovider.wire.messages import ProtocolError


# libxml2 refuses documents deeper than its own bound (256 levels without
# XML_PARSE_HUGE) with a syntax error, and lxml only hands us the events of a
# chunk once libxml2 has parsed all of it. Feeding chunks so short that not
# even a run of "<a>" start tags can climb from our bound to libxml2's makes
# our depth check the one that answers, whatever libxml2's version.
_LIBXML2_MAX_DEPTH = 256
_SHORTEST_START_TAG = len(b"<a>")


def _chunk_size(max_depth: int) -> int:
    headroom = _LIBXML2_MAX_DEPTH - max_depth - 2  # one level may wait in libxml2's buffer
    if headroom < 1:
        raise ValueError(f"max_depth {max_depth} is not below libxml2's bound of {_LIBXML2_MAX_DEPTH} levels")
    return headroom * _SHORTEST_START_TAG


@dataclass(frozen=True, slots=True)
class ParseLimits:
    """Bounds on a request document. The deepest legitimate CIM-XML (a
    reference key whose value is a reference, inside a VALUE.REFARRAY of a
    METHODCALL) stays far below 64 levels."""

    max_depth: int = 64
    max_elements: int = 200_000
    # Bodies up to this size may be read a shorter way: recognised in the
    # common layout (common_requests.py), or parsed in one call when they
    # have too few elements to cross either bound (_parse_small). 0 sends
    # every body the chunked way.
    small_document_bytes: int = 16 * 1024

    def __post_init__(self) -> None:
        _chunk_size(self.max_depth)  # refuses a depth our chunked reading cannot enforce


DEFAULT_LIMITS = ParseLimits()


class FragmentError(ValueError):
    """An embedded-object text that is not a well-formed, safe XML fragment."""


def _refuse_declarations(body: bytes) -> str | None:
    # Both markers can only start a declaration inside a DTD or the prolog;
    # a literal occurrence in content would have to be escaped as "&lt;!".
    # The one false positive, a CDATA section quoting them, is not CIM-XML.
    if b"<!DOCTYPE" in body:
        return "DOCTYPE declarations are not accepted"
    if b"<!ENTITY" in body:
        return "ENTITY declarations are not accepted"
    return None


_PARSER_FLAGS = dict(
    encoding="utf-8",  # the declaration cannot switch us to another codec
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    dtd_validation=False,
    huge_tree=False,
    remove_comments=True,
    remove_pis=True,
    strip_cdata=True,
)


def _pull_parser() -> etree.XMLPullParser:
    return etree.XMLPullParser(events=("start", "end"), **_PARSER_FLAGS)


@dataclass
class _Bounds:
    """The walk's counters, checked after every chunk."""

    limits: ParseLimits
    depth: int = 0
    count: int = 0
    root: etree._Element | None = None

    def take(self, events: Iterator[tuple[str, etree._Element]]) -> None:
        for event, element in events:
            if event == "start":
                if self.root is None:
                    self.root = element
                self.depth += 1
                self.count += 1
                if self.depth > self.limits.max_depth:
                    raise _LimitExceeded(f"elements nested deeper than {self.limits.max_depth} levels")
                if self.count > self.limits.max_elements:
                    raise _LimitExceeded(f"more than {self.limits.max_elements} elements")
            else:
                self.depth -= 1


def _is_libxml2_depth_bound(exc: etree.XMLSyntaxError) -> bool:
    # Its code moved from XML_ERR_INTERNAL_ERROR to XML_ERR_RESOURCE_LIMIT
    # over the versions; the message has stayed.
    return "Excessive depth in document" in str(exc)


def _walk(body: bytes, limits: ParseLimits) -> etree._Element:
    """Parse while counting, so a hostile document is stopped as soon as it
    crosses a limit rather than after it has been built."""
    parser = _pull_parser()
    bounds = _Bounds(limits)
    step = _chunk_size(limits.max_depth)  # about 570 bytes: measured as cheap as one feed (bench/hostile_requests.py)
    try:
        for offset in range(0, len(body), step):
            parser.feed(body[offset : offset + step])
            bounds.take(parser.read_events())
        parser.close()
    except etree.XMLSyntaxError as exc:
        if _is_libxml2_depth_bound(exc):  # a libxml2 whose bound is below the one we plan for
            raise _LimitExceeded("elements nested deeper than the XML parser allows") from None
        raise
    bounds.take(parser.read_events())
    if bounds.root is None:  # pragma: no cover - libxml2 reports an empty document itself
        raise etree.XMLSyntaxError("empty document", None, 0, 0)
    docinfo = bounds.root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise _LimitExceeded("DOCTYPE declarations are not accepted")
    return bounds.root


class _LimitExceeded(Exception):
    pass


# A small document is parsed in one call by a parser kept per thread (lxml
# parsers are not thread-safe), without the chunked walk: the common
# requests (a pull, a GetInstance) are a few hundred bytes, and building a
# pull parser and counting its events cost them more than the parse itself.
_XML_DECLARATION = b"<?xml "
_parsers = threading.local()


@dataclass
class ParseCounts:
    """How many request bodies each way of reading read: recognised without
    a parser (wire/common_requests.py), parsed in one call, or walked in
    chunks. Figures for benches and tests (updated without a lock, so
    approximate under concurrency)."""

    recognised: int = 0
    small: int = 0
    walked: int = 0


counts = ParseCounts()


def _start_tags_at_most(body: bytes, bound: int) -> bool:
    """Whether `body` holds at most `bound` elements, and so can cross
    neither limit when `bound` is the smaller of them. Every element opens
    with a "<" not followed by "/", so counting those bounds the elements
    from above whatever comments, CDATA or processing instructions hold
    (an end tag hidden in them counts once each way); the XML declaration
    is the one such "<" left out."""
    start_tags = body.count(b"<") - body.count(b"</")
    if body.startswith(_XML_DECLARATION):
        start_tags -= 1
    return start_tags <= bound


def _small_parser() -> etree.XMLParser:
    parser = getattr(_parsers, "parser", None)
    if parser is None:
        parser = _parsers.parser = etree.XMLParser(**_PARSER_FLAGS)
    return parser


def _parse_small(body: bytes, limits: ParseLimits) -> etree._Element | None:
    """The root of a small, well-formed `body` that cannot cross `limits`;
    None for anything else, which the chunked walk then reads and answers
    as it always does, errors included."""
    if len(body) > limits.small_document_bytes or not _start_tags_at_most(body, min(limits.max_depth, limits.max_elements)):
        return None
    try:
        return etree.fromstring(body, _small_parser())
    except (etree.LxmlError, ValueError):
        return None


def parse_document(body: bytes, limits: ParseLimits = DEFAULT_LIMITS) -> etree._Element:
    """The root element of a request body, or ProtocolError: 400
    request-not-valid for bad UTF-8, declarations or exceeded limits, 400
    request-not-well-formed for anything that is not XML."""
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProtocolError(400, "request-not-valid", f"body is not valid UTF-8: {exc}") from None
    refused = _refuse_declarations(body)
    if refused:
        raise ProtocolError(400, "request-not-valid", refused)
    root = _parse_small(body, limits)
    if root is not None:
        counts.small += 1
        return root
    counts.walked += 1
    try:
        return _walk(body, limits)
    except _LimitExceeded as exc:
        raise ProtocolError(400, "request-not-valid", str(exc)) from None
    except etree.XMLSyntaxError as exc:
        raise ProtocolError(400, "request-not-well-formed", f"body is not well-formed XML: {exc}") from None


def parse_fragment(text: str, limits: ParseLimits = DEFAULT_LIMITS) -> etree._Element:
    """The root element of an embedded object's text (the unescaped content
    of a VALUE), parsed under the same rules as a request."""
    body = text.encode("utf-8", "surrogatepass")
    refused = _refuse_declarations(body)
    if refused:
        raise FragmentError(refused)
    try:
        return _walk(body, limits)
    except _LimitExceeded as exc:
        raise FragmentError(str(exc)) from None
    except (etree.XMLSyntaxError, UnicodeDecodeError) as exc:
        raise FragmentError(f"embedded object is not well-formed XML: {exc}") from None
