"""One ExportIndication over HTTP(S), as pywbem's WBEMListener accepts it:
a Content-Length body (never chunked), a single Accept value, CIM-XML
content type and the CIMExport headers. Listeners are HTTP/1.0 servers that
close after each answer, so every delivery opens its own connection; the
timeout bounds connect, send and the wait for the answer alike."""

from __future__ import annotations

import http.client
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

from pywbem import CIMError

from cimprovider.wire import parse_export_response

SCHEMES = ("http", "https")
DEFAULT_PORTS = {"http": 5990, "https": 5991}  # DSP0200's listener ports
MAX_ANSWER_BYTES = 1024 * 1024
_NOT_AN_ANSWER = "the listener's export response is unusable"


class DeliveryFailed(Exception):
    """The listener could not be reached or gave no usable answer: worth
    retrying."""


class IndicationRejected(Exception):
    """The listener answered with a CIM error: it received the indication
    and refused it, so sending it again cannot help."""

    def __init__(self, error: CIMError) -> None:
        super().__init__(str(error))
        self.error = error


@dataclass(frozen=True, slots=True)
class ListenerAddress:
    scheme: str
    host: str
    port: int
    path: str

    @classmethod
    def parse(cls, url: str) -> "ListenerAddress":
        """Raise ValueError naming what is wrong with `url`."""
        parts = urlsplit(url.strip())
        scheme = parts.scheme.lower()
        if scheme not in SCHEMES:
            raise ValueError(f"scheme {parts.scheme!r} is not supported (use http or https)")
        if not parts.hostname:
            raise ValueError("it names no host")
        try:
            port = parts.port or DEFAULT_PORTS[scheme]
        except ValueError as exc:  # port out of range or not a number
            raise ValueError(str(exc)) from None
        if parts.username or parts.password:
            raise ValueError("credentials in the URL are not supported")
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        return cls(scheme, parts.hostname, port, path)


def _unverified_tls() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def send_export(
    address: ListenerAddress, body: bytes, timeout: float, tls: ssl.SSLContext | None = None
) -> None:
    """Deliver one export request; return when the listener accepted it."""
    if address.scheme == "https":
        conn: http.client.HTTPConnection = http.client.HTTPSConnection(
            address.host, address.port, timeout=timeout, context=tls or _unverified_tls()
        )
    else:
        conn = http.client.HTTPConnection(address.host, address.port, timeout=timeout)
    try:
        conn.putrequest("POST", address.path, skip_accept_encoding=True)
        for name, value in (
            ("Content-Type", "application/xml; charset=utf-8"),
            ("Accept", "application/xml"),
            ("Content-Length", str(len(body))),
            ("CIMExport", "MethodRequest"),
            ("CIMExportMethod", "ExportIndication"),
            ("CIMProtocolVersion", "1.0"),
        ):
            conn.putheader(name, value)
        conn.endheaders(body)
        response = conn.getresponse()
        answer = response.read(MAX_ANSWER_BYTES + 1)
    except (OSError, http.client.HTTPException) as exc:
        raise DeliveryFailed(f"{type(exc).__name__}: {exc}") from None
    finally:
        conn.close()
    if response.status != 200:
        detail = response.getheader("CIMError") or response.reason
        raise DeliveryFailed(f"HTTP {response.status} {detail}")
    if len(answer) > MAX_ANSWER_BYTES:
        raise DeliveryFailed("the answer is larger than any export response")
    try:
        parse_export_response(answer)
    except CIMError as error:
        # parse_export_response reports an answer that is not an export
        # response at all as CIM_ERR_FAILED with this prefix: that is a
        # broken listener (retry), not a refusal.
        description = error.status_description or ""
        if description.startswith(_NOT_AN_ANSWER):
            raise DeliveryFailed(description) from None
        raise IndicationRejected(error) from None
