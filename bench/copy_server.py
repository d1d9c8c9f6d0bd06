"""The machine's ceiling for a reply of a given size: a server that does
no CIM work and no HTTP parsing beyond finding the request's end, and
answers every request with the same bytes (a real server's reply, read
from a file) with one sendall from a thread per connection, which holds
the interpreter lock only between system calls.

What it serves per second, with 1 and with 8 clients, is what the
machine's cores give for copying such replies from one process to others
over loopback: no server serving these bytes on this machine can do
better. bench/concurrency.py runs it beside the real server (--ceiling).

    python bench/copy_server.py REPLY_FILE    (prints its port, then serves)
"""

from __future__ import annotations

import socket
import sys
import threading


def serve_connection(connection: socket.socket, reply: bytes) -> None:
    pending = b""
    with connection:
        while True:
            while b"\r\n\r\n" not in pending:
                data = connection.recv(65536)
                if not data:
                    return
                pending += data
            head, _, rest = pending.partition(b"\r\n\r\n")
            length = next(
                int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")
            )
            while len(rest) < length:
                data = connection.recv(65536)
                if not data:
                    return
                rest += data
            pending = rest[length:]
            connection.sendall(reply)


def main(reply_file: str) -> None:
    with open(reply_file, "rb") as source:
        reply = source.read()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    print(listener.getsockname()[1], flush=True)
    while True:
        connection, _ = listener.accept()
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=serve_connection, args=(connection, reply), daemon=True).start()


if __name__ == "__main__":
    main(sys.argv[1])
