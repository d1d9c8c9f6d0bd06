"""Hardened XML parsing for untrusted CIM-XML: no DTD, no entities, no
network, bounded depth and element count.

A CIM-XML request never needs a DTD (DSP0201 documents are validated by the
receiver's own knowledge of the DTD), so any DOCTYPE or ENTITY declaration is
refused before libxml2 sees the body. That closes external entities
(file reads, SSRF) and entity expansion bombs at once, whatever the parser
flags do.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from lxml import etree

from cimprovider.wire.messages import ProtocolError


@dataclass(frozen=True, slots=True)
class ParseLimits:
    """Bounds on a request document. The deepest legitimate CIM-XML (a
    reference key whose value is a reference, inside a VALUE.REFARRAY of a
    METHODCALL) stays far below 64 levels."""

    max_depth: int = 64
    max_elements: int = 200_000


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


def _iterparse(body: bytes) -> etree.iterparse:
    return etree.iterparse(
        io.BytesIO(body),
        events=("start", "end"),
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


def _walk(body: bytes, limits: ParseLimits) -> etree._Element:
    """Parse while counting, so a hostile document is stopped as soon as it
    crosses a limit rather than after it has been built."""
    root = None
    depth = 0
    count = 0
    for event, element in _iterparse(body):
        if event == "start":
            if root is None:
                root = element
            depth += 1
            count += 1
            if depth > limits.max_depth:
                raise _LimitExceeded(f"elements nested deeper than {limits.max_depth} levels")
            if count > limits.max_elements:
                raise _LimitExceeded(f"more than {limits.max_elements} elements")
        else:
            depth -= 1
    if root is None:  # pragma: no cover - libxml2 reports an empty document itself
        raise etree.XMLSyntaxError("empty document", None, 0, 0)
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise _LimitExceeded("DOCTYPE declarations are not accepted")
    return root


class _LimitExceeded(Exception):
    pass


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
