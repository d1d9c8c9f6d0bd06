"""The mode a running guest's display is in now, as QEMU's VNC server
tells every client that joins: RFB's ServerInit carries the framebuffer's
width and height, which follow the guest's own mode switches (a text
console, a driver's mode, a resolution the user picked in the guest).

libvirt hands over a connected socket (openGraphicsFD, as for the
console's screen; QEMU listens nowhere). The client joins shared, so no
viewer is disconnected, reads the handshake alone — a few dozen bytes, no
frame — and leaves. A domain without a VNC display, or a display that
does not answer in time, has no reading: the caller falls back on the
mode the domain's video model names."""

from __future__ import annotations

import socket
import struct

ANSWER_SECONDS = 5.0
_NO_AUTHENTICATION = 1  # RFB security type None: libvirt's SKIPAUTH hands over a socket that needs none
_SHARED = b"\x01"  # ClientInit: share the display with the viewers already on it


def framebuffer_size(fd: int) -> tuple[int, int] | None:
    """The ServerInit width and height on the RFB connection `fd` (closed
    afterwards); None if the server does not speak RFB 3.8 without
    authentication."""
    with socket.socket(fileno=fd) as connection:
        connection.settimeout(ANSWER_SECONDS)
        try:
            return _handshake(connection)
        except (OSError, ValueError):
            return None


def _handshake(connection: socket.socket) -> tuple[int, int]:
    version = _exactly(connection, 12)
    if not version.startswith(b"RFB 003."):
        raise ValueError(f"not an RFB server: {version!r}")
    connection.sendall(b"RFB 003.008\n")
    (count,) = _exactly(connection, 1)
    if count == 0:
        raise ValueError("the server refused the connection")
    if _NO_AUTHENTICATION not in _exactly(connection, count):
        raise ValueError("the display asks for authentication")
    connection.sendall(bytes([_NO_AUTHENTICATION]))
    (result,) = struct.unpack(">I", _exactly(connection, 4))
    if result != 0:
        raise ValueError("the display refused the connection")
    connection.sendall(_SHARED)
    width, height = struct.unpack(">HH", _exactly(connection, 4))
    return width, height


def _exactly(connection: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = connection.recv(size - len(data))
        if not chunk:
            raise ValueError("the display closed the connection")
        data += chunk
    return data
