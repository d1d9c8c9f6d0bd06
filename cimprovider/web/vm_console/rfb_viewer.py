"""What a viewer sends to a VM's VNC server (RFB, RFC 6143), read as it
passes: bytes in, the bytes to forward out, no socket.

Every viewer's ClientInit asks for a shared session, so one viewer cannot
disconnect the others. A view-only viewer (the reader role) keeps the
messages that let it see — pixel format, encodings, update requests,
fences, continuous updates — and loses those that would change the VM:
keys, pointer, clipboard, desktop size. A message this reader does not know
the length of cannot be passed over safely, so it ends the session
(`RfbRefused`); so does any protocol version but 3.8, whose handshake the
reader is written for (noVNC and QEMU both speak it)."""

from __future__ import annotations

from dataclasses import dataclass, field

VERSION_38 = b"RFB 003.008\n"
SHARED = b"\x01"


class RfbRefused(Exception):
    """The viewer sent what this console does not let through."""


# type → (fixed length, or a function of the buffer giving the length once
# enough bytes are there; None while it cannot tell yet)
def _fixed(length: int):
    return lambda buffer: length


def _set_encodings(buffer: bytes) -> int | None:
    return None if len(buffer) < 4 else 4 + 4 * int.from_bytes(buffer[2:4], "big")


def _cut_text(buffer: bytes) -> int | None:
    # The extended clipboard's negative length means its absolute value too.
    return None if len(buffer) < 8 else 8 + abs(int.from_bytes(buffer[4:8], "big", signed=True))


def _fence(buffer: bytes) -> int | None:
    return None if len(buffer) < 9 else 9 + buffer[8]


def _set_desktop_size(buffer: bytes) -> int | None:
    return None if len(buffer) < 7 else 8 + 16 * buffer[6]


def _qemu(buffer: bytes) -> int | None:
    if len(buffer) < 2:
        return None
    if buffer[1] == 0:  # extended key event
        return 12
    if buffer[1] == 1 and len(buffer) >= 4:  # audio: enable, disable (4) or set format (10)
        return 10 if int.from_bytes(buffer[2:4], "big") == 2 else 4
    if buffer[1] == 1:
        return None
    raise RfbRefused(f"unknown QEMU message {buffer[1]}")


MESSAGES = {
    0: _fixed(20),  # SetPixelFormat
    2: _set_encodings,
    3: _fixed(10),  # FramebufferUpdateRequest
    4: _fixed(8),  # KeyEvent
    5: _fixed(6),  # PointerEvent
    6: _cut_text,  # ClientCutText
    150: _fixed(10),  # EnableContinuousUpdates
    248: _fence,  # ClientFence
    251: _set_desktop_size,
    255: _qemu,
}
CHANGES_THE_VM = {4, 5, 6, 251}
QEMU_KEY_EVENT = b"\xff\x00"


@dataclass
class ViewerStream:
    view_only: bool
    _stage: str = "version"  # version → security → init → messages
    _buffer: bytearray = field(default_factory=bytearray)

    def feed(self, data: bytes) -> bytes:
        """Take bytes from the viewer; return those to send to the VM."""
        if self._stage == "messages" and not self.view_only:
            return data
        self._buffer += data
        out = bytearray()
        while True:
            taken = self._next()
            if taken is None:
                return bytes(out)
            out += taken

    def _next(self) -> bytes | None:
        if self._stage == "version":
            if len(self._buffer) < len(VERSION_38):
                return None
            if bytes(self._buffer[:12]) != VERSION_38:
                raise RfbRefused(f"RFB version {bytes(self._buffer[:12])!r} refused; this console speaks 3.8")
            return self._take(12, "security")
        if self._stage == "security":
            return self._take(1, "init") if self._buffer else None
        if self._stage == "init":
            if not self._buffer:
                return None
            del self._buffer[:1]
            self._stage = "messages"
            rest = b"" if self.view_only else self._take(len(self._buffer), "messages")
            return SHARED + rest
        return self._message()

    def _message(self) -> bytes | None:
        if not self._buffer:
            return None
        length_of = MESSAGES.get(self._buffer[0])
        if length_of is None:
            raise RfbRefused(f"unknown RFB message type {self._buffer[0]} from a view-only viewer")
        length = length_of(bytes(self._buffer))
        if length is None or len(self._buffer) < length:
            return None
        message = self._take(length, "messages")
        changes = message[0] in CHANGES_THE_VM or message[:2] == QEMU_KEY_EVENT
        return b"" if changes else message

    def _take(self, count: int, then: str) -> bytes:
        taken = bytes(self._buffer[:count])
        del self._buffer[:count]
        self._stage = then
        return taken
