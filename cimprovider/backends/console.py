"""A VM's consoles, beside `Backend`: its serial port COM1 and, where the
hypervisor has one, its graphical screen (VNC's RFB protocol).

A console is a byte stream in both directions. The backend opens it and
hands back a `ConsoleStream`; whoever opened it starts it with two
callbacks, which the backend may call from any thread (libvirt's event
thread, the thread that stopped a simulated VM): the caller moves them onto
its own loop. Nothing here blocks: `send` queues, `close` returns at once.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from typing import Protocol, runtime_checkable
from uuid import UUID

OutputCallback = Callable[[bytes], None]
"""Called with bytes the console wrote, in order."""
ClosedCallback = Callable[[str], None]
"""Called once when the console ends, with why (the VM stopped…)."""


class ConsoleKind(str, Enum):
    SERIAL = "serial"  # COM1, as text
    GRAPHICS = "graphics"  # the screen, as an RFB (VNC) byte stream


@runtime_checkable
class ConsoleStream(Protocol):
    def start(self, on_output: OutputCallback, on_closed: ClosedCallback) -> None:
        """Begin delivering output; call once, right after opening."""
        ...

    def send(self, data: bytes) -> None:
        """What a user typed (serial) or the viewer's RFB messages."""
        ...

    def close(self) -> None:
        """Detach; the VM runs on. `on_closed` is not called for this."""
        ...


@runtime_checkable
class ConsoleBackend(Protocol):
    def console_kinds(self, vm_id: UUID) -> frozenset[ConsoleKind]:
        """The consoles this VM has, whatever its state."""
        ...

    def open_console(self, vm_id: UUID, kind: ConsoleKind) -> ConsoleStream:
        """Attach to a running VM's console. NotFoundError for an unknown
        VM or a console it does not have, InvalidStateError when it is not
        running."""
        ...
