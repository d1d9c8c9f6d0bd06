"""A loopback TCP relay between a client and a server that a test can cut
off without closing it: while held, what clients send waits in the relay
(connections stay open, nothing is refused), and it all goes on, in order,
once released. It stands for a network link that stalls, so the server
hears nothing from a client that is alive and still waiting for answers."""

from __future__ import annotations

import socket
import threading
from types import TracebackType
from urllib.parse import urlsplit

CHUNK = 64 * 1024


class HeldLink:
    def __init__(self, upstream_url: str) -> None:
        parts = urlsplit(upstream_url)
        self._upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self._scheme = parts.scheme
        self._open = threading.Event()
        self._open.set()
        self._closed = threading.Event()
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"{self._scheme}://127.0.0.1:{self._listener.getsockname()[1]}"

    def hold(self) -> None:
        """From now on, what clients send waits here."""
        self._open.clear()

    def release(self) -> None:
        """What waited goes on to the server, and what follows with it."""
        self._open.set()

    def close(self) -> None:
        self._closed.set()
        self._open.set()
        self._listener.close()
        with self._lock:
            for sock in self._sockets:
                sock.close()

    def __enter__(self) -> HeldLink:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            server = socket.create_connection(self._upstream)
            with self._lock:
                self._sockets += [client, server]
            threading.Thread(target=self._pump, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, False), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, holdable: bool) -> None:
        try:
            while data := source.recv(CHUNK):
                if holdable:
                    self._open.wait()
                sink.sendall(data)
            sink.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # one side closed: the other sees it through its own socket
