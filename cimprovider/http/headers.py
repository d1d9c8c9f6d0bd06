"""The CIM-specific HTTP headers of DSP0200 §7, for POST and for M-POST
(where they carry an `NN-` prefix declared by the `Man` header)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

from cimprovider.wire.messages import ProtocolError

CIM_MAPPING = "http://www.dmtf.org/cim/mapping/http/v1.0"
_MAN_NS = re.compile(r";\s*ns\s*=\s*(\d+)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class CIMHeaders:
    operation: str | None
    method: str | None
    object: str | None
    batch: bool
    protocol_version: str | None


def header_map(raw: list[tuple[bytes, bytes]]) -> dict[str, str]:
    """Lower-cased names; repeated headers are joined as RFC 9110 allows."""
    headers: dict[str, str] = {}
    for name, value in raw:
        key = name.decode("latin-1").lower()
        text = value.decode("latin-1")
        headers[key] = f"{headers[key]}, {text}" if key in headers else text
    return headers


def cim_headers(headers: dict[str, str], method: str, http_version: str) -> CIMHeaders:
    prefix = ""
    if method == "M-POST":
        if http_version == "1.0":
            raise ProtocolError(400, "request-not-valid", "M-POST requires HTTP/1.1")
        prefix = _mpost_prefix(headers.get("man", ""))

    def get(name: str) -> str | None:
        value = headers.get(prefix + name)
        return None if value is None else unquote(value.strip())

    return CIMHeaders(
        operation=get("cimoperation"),
        method=get("cimmethod"),
        object=get("cimobject"),
        batch=(prefix + "cimbatch") in headers,
        protocol_version=get("cimprotocolversion"),
    )


def _mpost_prefix(man: str) -> str:
    if CIM_MAPPING not in man:
        raise ProtocolError(400, "request-not-valid", "M-POST without the CIM mapping in its Man header")
    match = _MAN_NS.search(man)
    if match is None:
        raise ProtocolError(400, "request-not-valid", "the Man header declares no ns=NN prefix")
    return f"{match.group(1)}-"


def check_cim_headers(cim: CIMHeaders) -> None:
    """DSP0200 §7.3 header checks, in the order a server reports them."""
    if cim.batch:
        raise ProtocolError(501, "multiple-requests-unsupported", "CIMBatch requests are not supported")
    if cim.operation is None or cim.operation.lower() != "methodcall":
        raise ProtocolError(
            400, "unsupported-operation", f"CIMOperation must be MethodCall, not {cim.operation!r}"
        )
    if cim.protocol_version is not None and not cim.protocol_version.startswith("1."):
        raise ProtocolError(
            501, "unsupported-protocol-version", f"CIMProtocolVersion {cim.protocol_version} is not supported"
        )
    if not cim.method:
        raise ProtocolError(400, "header-mismatch", "the CIMMethod header is missing")
    if not cim.object:
        raise ProtocolError(400, "header-mismatch", "the CIMObject header is missing")


def check_content_type(content_type: str | None) -> None:
    if content_type is None:
        return
    media, _, params = content_type.partition(";")
    if media.strip().lower() not in ("application/xml", "text/xml"):
        raise ProtocolError(400, "request-not-valid", f"Content-Type {media.strip()} is not application/xml")
    charset = re.search(r"charset\s*=\s*\"?([\w-]+)", params, re.IGNORECASE)
    if charset and charset.group(1).lower() not in ("utf-8", "utf8"):
        raise ProtocolError(400, "request-not-valid", f"charset {charset.group(1)} is not utf-8")


def reads_embedded_arrays(headers: dict[str, str]) -> bool:
    """False for sblim wbemcli, whose parser refuses EmbeddedObject on
    PROPERTY.ARRAY (see wire/dialects.py). It is known by what it sends:
    CIMProtocolVersion, which pywbem does not, and no User-Agent, which
    libcurl leaves out unless told and other clients send."""
    return "cimprotocolversion" not in headers or "user-agent" in headers


def wants_trailers(headers: dict[str, str]) -> bool:
    return any(token.strip().lower().startswith("trailers") for token in headers.get("te", "").split(","))
