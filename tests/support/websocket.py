"""A small blocking websocket client over wsproto, for tests: what a
browser does in a handshake (Host, Origin, Cookie), then binary frames."""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass, field

import wsproto
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Message,
    RejectConnection,
    RejectData,
    Request,
    TextMessage,
)


class Rejected(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(f"handshake refused with HTTP {status}")
        self.status = status


@dataclass
class WebSocketClient:
    sock: socket.socket
    conn: wsproto.WSConnection
    received: bytearray = field(default_factory=bytearray)
    closed: CloseConnection | None = None
    subprotocol: str | None = None

    @classmethod
    def connect(cls, port: int, path: str, origin: str | None = None, cookie: str | None = None,
                subprotocols: list[str] | None = None) -> "WebSocketClient":
        sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        conn = wsproto.WSConnection(wsproto.ConnectionType.CLIENT)
        headers = []
        if origin is not None:
            headers.append((b"origin", origin.encode()))
        if cookie is not None:
            headers.append((b"cookie", cookie.encode()))
        sock.sendall(conn.send(Request(host=f"127.0.0.1:{port}", target=path, extra_headers=headers,
                                       subprotocols=subprotocols or [])))
        client = cls(sock, conn)
        while True:
            for event in client._events():
                if isinstance(event, AcceptConnection):
                    client.subprotocol = event.subprotocol
                    return client
                if isinstance(event, (RejectConnection, RejectData)):
                    status = getattr(event, "status_code", 0)
                    sock.close()
                    raise Rejected(status)

    def _events(self):
        data = self.sock.recv(65536)
        if not data:
            self.closed = self.closed or CloseConnection(code=1006, reason="connection closed without a close frame")
            return
        self.conn.receive_data(data)
        for event in self.conn.events():
            if isinstance(event, Message):
                self.received += event.data if isinstance(event, BytesMessage) else event.data.encode()
            elif isinstance(event, CloseConnection):
                self.closed = event
                try:
                    self.sock.sendall(self.conn.send(event.response()))
                except (OSError, wsproto.utilities.LocalProtocolError):
                    pass
            yield event

    def send(self, data: bytes) -> None:
        self.sock.sendall(self.conn.send(BytesMessage(data=data)))

    def send_text(self, text: str) -> None:
        self.sock.sendall(self.conn.send(TextMessage(data=text)))

    def wait_for(self, expected: bytes, timeout: float = 30) -> bytes:
        """Read until `expected` has arrived; return all received so far."""
        deadline = time.monotonic() + timeout
        while expected not in self.received:
            assert self.closed is None, f"closed ({self.closed.code} {self.closed.reason}) before {expected!r}; got {bytes(self.received)!r}"
            assert time.monotonic() < deadline, f"{expected!r} did not arrive; got {bytes(self.received)!r}"
            list(self._events())
        return bytes(self.received)

    def wait_closed(self, timeout: float = 30) -> CloseConnection:
        deadline = time.monotonic() + timeout
        while self.closed is None:
            assert time.monotonic() < deadline, "the server did not close the websocket"
            list(self._events())
        return self.closed

    def close(self, timeout: float = 30) -> None:
        """Close as a browser does: a close frame, then the server's answer."""
        try:
            if self.closed is None:
                self.sock.sendall(self.conn.send(CloseConnection(code=1000)))
            deadline = time.monotonic() + timeout
            while self.sock.recv(65536) and time.monotonic() < deadline:
                pass  # until the server closes its end
        except OSError:
            pass
        self.sock.close()
