"""Raw HTTP/1.1 over a socket, for tests that must control every byte a
client sends (slow, oversized, many connections) and read exactly what
the server answers."""

from __future__ import annotations

import select
import socket
import ssl
import time
from dataclasses import dataclass

ENUMERATE_BODY = (
    b'<?xml version="1.0" encoding="utf-8" ?>'
    b'<CIM CIMVERSION="2.0" DTDVERSION="2.0"><MESSAGE ID="1" PROTOCOLVERSION="1.0"><SIMPLEREQ>'
    b'<IMETHODCALL NAME="EnumerateInstanceNames"><LOCALNAMESPACEPATH><NAMESPACE NAME="root"></NAMESPACE>'
    b'<NAMESPACE NAME="interop"></NAMESPACE></LOCALNAMESPACEPATH>'
    b'<IPARAMVALUE NAME="ClassName"><CLASSNAME NAME="CIM_ObjectManager"></CLASSNAME></IPARAMVALUE>'
    b"</IMETHODCALL></SIMPLEREQ></MESSAGE></CIM>"
)

CIM_HEADERS = (
    b"Host: x\r\nContent-Type: application/xml; charset=\"utf-8\"\r\n"
    b"CIMOperation: MethodCall\r\nCIMMethod: EnumerateInstanceNames\r\nCIMObject: root/interop\r\n"
)


def enumerate_request(body: bytes = ENUMERATE_BODY) -> bytes:
    return b"POST /cimom HTTP/1.1\r\n" + CIM_HEADERS + b"Content-Length: %d\r\n\r\n" % len(body) + body


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes


def connect(
    port: int, source: str = "127.0.0.1", timeout: float = 30, tls: ssl.SSLContext | None = None
) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout, source_address=(source, 0))
    return tls.wrap_socket(sock, server_hostname="127.0.0.1") if tls is not None else sock


def read_response(sock: socket.socket) -> Response | None:
    """One response, or None if the server closed without one."""
    data = b""
    while b"\r\n\r\n" not in data:
        more = _recv(sock)
        if not more:
            return None
        data += more
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        more = _recv(sock)
        if not more:
            break
        body += more
    return Response(int(status_line.split()[1]), headers, body)


def exchange(port: int, source: str = "127.0.0.1") -> Response | None:
    with connect(port, source) as sock:
        sock.sendall(enumerate_request())
        return read_response(sock)


def admitted(
    port: int, source: str = "127.0.0.1", tls: ssl.SSLContext | None = None, deadline_seconds: float = 60
) -> socket.socket:
    """A connection that has been served a request and stays open: it
    then sends the head of a next request and none of its body, so that
    neither the keep-alive timeout nor a short header timeout closes it
    (the body timeout, a minute by default, would). The server counts a
    closed connection out only when it notices the close, so a refusal
    right after other connections closed is retried."""
    deadline = time.monotonic() + deadline_seconds
    while True:
        sock = connect(port, source, tls=tls)
        sock.sendall(enumerate_request())
        answer = read_response(sock)
        if answer is not None and answer.status == 200:
            sock.sendall(b"POST /cimom HTTP/1.1\r\n" + CIM_HEADERS + b"Content-Length: 100\r\n\r\n")
            return sock
        sock.close()
        if time.monotonic() > deadline:
            raise AssertionError(f"no connection from {source} admitted; last answer {answer}")
        time.sleep(0.1)


def trickle_until_closed(sock: socket.socket, pieces, deadline_seconds: float = 60) -> bytes | None:
    """Send `pieces` one at a time, a fifth of a second apart, until the
    server closes the connection; return what it answered (None if it
    never closed within the deadline)."""
    deadline = time.monotonic() + deadline_seconds
    for piece in pieces:
        if time.monotonic() > deadline:
            return None
        try:
            sock.sendall(piece)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            return _rest(sock)
        readable, _, _ = select.select([sock], [], [], 0.2)
        if readable:
            return _rest(sock)
    return None


def _rest(sock: socket.socket) -> bytes:
    data = b""
    while more := _recv(sock):
        data += more
    return data


def _recv(sock: socket.socket) -> bytes:
    try:
        return sock.recv(65536)
    except (ConnectionResetError, ssl.SSLError):  # closed without a goodbye
        return b""
