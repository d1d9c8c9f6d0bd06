"""A loopback listener that records who reached it: each connection's
request head (line and headers), answered with 404 and closed — or, if
it is to stay silent, held open unanswered until the listener stops. A
test reads `heads` to prove the server under test did, or did not,
connect, and what it sent (an Authorization header, say)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class Recorder:
    host: str
    port: int
    heads: list[bytes] = field(default_factory=list)

    @property
    def contacted(self) -> bool:
        return bool(self.heads)


def _serve(listener: socket.socket, recorder: Recorder, stop: threading.Event, silent: bool) -> None:
    held: list[socket.socket] = []
    try:
        _accept(listener, recorder, stop, silent, held)
    finally:
        for connection in held:
            connection.close()


def _accept(listener: socket.socket, recorder: Recorder, stop: threading.Event, silent: bool,
            held: list[socket.socket]) -> None:
    while not stop.is_set():
        try:
            connection, _ = listener.accept()
        except TimeoutError:
            continue  # look at `stop` again
        except OSError:
            return
        if silent:
            held.append(connection)
            recorder.heads.append(b"")  # what it sends is not read
            continue
        with connection:
            connection.settimeout(5)
            head = b""
            try:
                while b"\r\n\r\n" not in head and len(head) < 65536:
                    chunk = connection.recv(4096)
                    if not chunk:
                        break
                    head += chunk
                recorder.heads.append(head)
                connection.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            except OSError:
                recorder.heads.append(head)


@contextmanager
def recording_listener(host: str = "127.0.0.1", port: int = 0, silent: bool = False) -> Iterator[Recorder]:
    """A listener on loopback `host` (any free port unless given); a
    `silent` one never answers."""
    listener = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    listener.bind((host, port))
    listener.listen(8)
    listener.settimeout(0.2)
    recorder = Recorder(host, listener.getsockname()[1])
    stop = threading.Event()
    thread = threading.Thread(target=_serve, args=(listener, recorder, stop, silent), daemon=True)
    thread.start()
    try:
        yield recorder
    finally:
        stop.set()
        thread.join(timeout=10)
        listener.close()
