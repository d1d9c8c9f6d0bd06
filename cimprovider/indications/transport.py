"""One ExportIndication over HTTP(S), as pywbem's WBEMListener accepts it:
a Content-Length body (never chunked), a single Accept value, CIM-XML
content type and the CIMExport headers. The timeout bounds connect, send
and the wait for the answer alike.

Listeners such as pywbem's are HTTP/1.0 servers that close after each
answer, so a delivery usually needs a connection of its own; one that
answers HTTP/1.1 without `Connection: close` keeps its connection (one per
worker thread) for the next delivery.

The request is written as bytes in one send and the answer read with the
little HTTP parsing an export response needs."""

from __future__ import annotations

import re
import socket
import threading
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from pywbem import CIMError

from cimprovider.indications.access import DestinationRefused, ListenerAccess, SocketAddress
from cimprovider.wire import parse_export_response

SCHEMES = ("http", "https")
DEFAULT_PORTS = {"http": 5990, "https": 5991}  # DSP0200's listener ports
MAX_ANSWER_BYTES = 1024 * 1024
MAX_HEAD_BYTES = 64 * 1024
_NOT_AN_ANSWER = "the listener's export response is unusable"
# The answer every listener gives on success; anything else is parsed whole.
_PLAIN_SUCCESS = re.compile(
    rb'^\s*(<\?xml[^>]*\?>)?\s*<CIM [^>]*>\s*<MESSAGE [^>]*>\s*<SIMPLEEXPRSP>\s*'
    rb'<EXPMETHODRESPONSE\s+NAME="ExportIndication"\s*(/>|>\s*</EXPMETHODRESPONSE>)\s*'
    rb'</SIMPLEEXPRSP>\s*</MESSAGE>\s*</CIM>\s*$'
)


LOOPBACK_ACCESS = ListenerAccess()  # loopback listeners, certificates verified


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
        # The request line is ASCII without spaces: a client's `/café x`
        # goes as `/caf%C3%A9%20x` (escapes already there stay as they are).
        return cls(scheme, parts.hostname, port, quote(path, safe="/?&=%:@!$'()*+,;~-._"))


def request_head(address: ListenerAddress, length: int) -> bytes:
    host = f"[{address.host}]" if ":" in address.host else address.host
    return (
        f"POST {address.path} HTTP/1.1\r\n"
        f"Host: {host}:{address.port}\r\n"
        "Content-Type: application/xml; charset=utf-8\r\n"
        "Accept: application/xml\r\n"
        f"Content-Length: {length}\r\n"
        "CIMExport: MethodRequest\r\n"
        "CIMExportMethod: ExportIndication\r\n"
        "CIMProtocolVersion: 1.0\r\n"
        "\r\n"
    ).encode("ascii")


class _Channel:
    """A worker thread's kept connection to one listener."""

    def __init__(self) -> None:
        self.idle: socket.socket | None = None


class _Channels(threading.local):
    def __init__(self) -> None:
        self.by_address: dict[ListenerAddress, _Channel] = {}


_channels = _Channels()


def _channel(address: ListenerAddress) -> _Channel:
    found = _channels.by_address.get(address)
    if found is None:
        found = _channels.by_address[address] = _Channel()
    return found


# Where each listener was found: a delivery is on the listener's critical
# path, and name resolution on every connection costs as much as the rest
# of our side of it. Forgotten when a connection to it fails; an address
# found here is checked again against the access of the delivery using it.
_resolved: dict[tuple[str, int], SocketAddress] = {}


def _candidates(address: ListenerAddress, access: ListenerAccess) -> list[SocketAddress]:
    where = (address.host, address.port)
    found = _resolved.get(where)
    if found is not None and access.admits(found[1][0]):
        return [found]
    try:
        return access.addresses(address.host, address.port)
    except DestinationRefused as exc:
        raise DeliveryFailed(f"refused before connecting: {exc}") from None


def _connect(address: ListenerAddress, timeout: float, access: ListenerAccess) -> socket.socket:
    """A connection to one of the addresses the access allowed: never
    resolved again between the check and the connect."""
    where = (address.host, address.port)
    failure: OSError | None = None
    for family, sockaddr in _candidates(address, access):
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect(sockaddr)
        except OSError as exc:
            sock.close()
            failure = exc
            continue
        _resolved[where] = (family, sockaddr)
        break
    else:
        _resolved.pop(where, None)
        raise failure or OSError(f"no address to connect to for {address.host}")
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if address.scheme == "https":
        try:
            sock = access.tls.wrap_socket(sock, server_hostname=address.host)
        except OSError:
            sock.close()
            raise
    return sock


def _close(sock: socket.socket) -> None:
    try:
        sock.close()
    except OSError:
        pass


def release(address: ListenerAddress) -> None:
    """Close this thread's kept connection to `address` (its worker ends)."""
    channel = _channels.by_address.pop(address, None)
    if channel is not None and channel.idle is not None:
        _close(channel.idle)


def send_export(
    address: ListenerAddress, body: bytes, timeout: float, access: ListenerAccess = LOOPBACK_ACCESS
) -> None:
    """Deliver one export request; return when the listener accepted it."""
    channel = _channel(address)
    request = request_head(address, len(body)) + body
    sock, channel.idle = channel.idle, None
    reused = sock is not None
    try:
        try:
            if sock is None:
                sock = _connect(address, timeout, access)
            sock.sendall(request)
            status, headers, answer = _read_answer(sock)
        except (OSError, DeliveryFailed):
            if not reused:
                raise
            # The listener closed the kept connection meanwhile: once more, afresh.
            _close(sock)  # type: ignore[arg-type]
            sock = None
            sock = _connect(address, timeout, access)
            sock.sendall(request)
            status, headers, answer = _read_answer(sock)
    except (OSError, DeliveryFailed) as exc:
        if sock is not None:
            _close(sock)
        if isinstance(exc, DeliveryFailed):
            raise
        raise DeliveryFailed(f"{type(exc).__name__}: {exc}") from None
    if _keeps_alive(headers):
        channel.idle = sock
    else:
        _close(sock)
    if status != 200:
        raise DeliveryFailed(f"HTTP {status} {headers.get('cimerror', '')}".rstrip())
    if _PLAIN_SUCCESS.match(answer):
        return
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


def _keeps_alive(headers: dict[str, str]) -> bool:
    return headers.get(":version") == "HTTP/1.1" and "close" not in headers.get("connection", "").lower()


def _read_answer(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """Status, headers (lower-case names; ':version' the HTTP version) and
    body of the listener's answer."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise DeliveryFailed("the listener closed the connection without an answer")
        data += chunk
        if len(data) > MAX_HEAD_BYTES:
            raise DeliveryFailed("the answer's headers are larger than any export response's")
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("iso-8859-1").split("\r\n")
    parts = lines[0].split(None, 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise DeliveryFailed(f"not an HTTP answer: {lines[0][:80]!r}")
    headers = {":version": parts[0]}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = headers.get("content-length")
    if length is not None and length.isdigit():
        wanted = int(length)
        if wanted > MAX_ANSWER_BYTES:
            raise DeliveryFailed("the answer is larger than any export response")
        while len(body) < wanted:
            chunk = sock.recv(min(65536, wanted - len(body)))
            if not chunk:
                raise DeliveryFailed("the listener closed the connection mid-answer")
            body += chunk
        return int(parts[1]), headers, body[:wanted]
    if headers.get("transfer-encoding", "").lower() == "chunked":
        raise DeliveryFailed("a chunked answer is not an export response")
    headers["connection"] = "close"  # the body ends where the connection does
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return int(parts[1]), headers, body
        body += chunk
        if len(body) > MAX_ANSWER_BYTES:
            raise DeliveryFailed("the answer is larger than any export response")
