"""What of a VNC viewer's bytes reaches the VM: all of an admin's, and of
a reader's only what lets it see; every viewer's session is shared."""

from __future__ import annotations

import pytest

from cimprovider.web.vm_console.rfb_viewer import RfbRefused, ViewerStream

HANDSHAKE = b"RFB 003.008\n" + b"\x01"  # version, security type None
EXCLUSIVE_INIT = b"\x00"
SET_ENCODINGS = b"\x02\x00\x00\x02" + (0).to_bytes(4, "big") + (-223).to_bytes(4, "big", signed=True)
UPDATE_REQUEST = b"\x03\x00" + bytes(8)
KEY = b"\x04\x01\x00\x00" + (0x61).to_bytes(4, "big")
POINTER = b"\x05\x01" + bytes(4)
CUT_TEXT = b"\x06\x00\x00\x00" + (5).to_bytes(4, "big") + b"hello"
QEMU_KEY = b"\xff\x00\x00\x01" + bytes(8)
FENCE = b"\xf8\x00\x00\x00" + bytes(4) + b"\x02ab"


def test_every_viewer_shares_the_screen() -> None:
    admin = ViewerStream(view_only=False)
    assert admin.feed(HANDSHAKE + EXCLUSIVE_INIT) == HANDSHAKE + b"\x01"
    assert admin.feed(KEY + POINTER) == KEY + POINTER  # an admin's input goes through whole


def test_a_reader_sees_but_its_input_is_dropped() -> None:
    reader = ViewerStream(view_only=True)
    stream = HANDSHAKE + EXCLUSIVE_INIT + SET_ENCODINGS + KEY + UPDATE_REQUEST + POINTER + CUT_TEXT + QEMU_KEY + FENCE
    out = b"".join(reader.feed(stream[i : i + 3]) for i in range(0, len(stream), 3))  # split anywhere
    assert out == HANDSHAKE + b"\x01" + SET_ENCODINGS + UPDATE_REQUEST + FENCE


def test_a_reader_cannot_slip_past_the_reader() -> None:
    with pytest.raises(RfbRefused, match="version"):
        ViewerStream(view_only=True).feed(b"RFB 003.003\n")
    reader = ViewerStream(view_only=True)
    reader.feed(HANDSHAKE + b"\x01")
    with pytest.raises(RfbRefused, match="unknown RFB message type 7"):
        reader.feed(b"\x07" + bytes(20))
