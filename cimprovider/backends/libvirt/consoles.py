"""A KVM guest's consoles through libvirt, without a port on the network.

- COM1: the domain's serial console (a pty QEMU holds) through
  virDomainOpenConsole into a non-blocking virStream. libvirt's event loop
  (connection.py runs it) says when the stream has bytes; the callbacks
  run there and hand bytes on, so no thread of ours waits on the guest.
  libvirt lets one client hold a console, so every terminal attached to
  the VM shares one stream, as they would share the wire of a serial port.
- The screen: QEMU's VNC server listens nowhere (`<listen type='none'/>`);
  virDomainOpenGraphicsFD hands over one connected socket per viewer.
  A thread per viewer reads it, a second writes what the viewer sends, so
  a stalled guest never stalls the server's loop."""

from __future__ import annotations

import logging
import queue
import socket
import threading
from collections.abc import Callable
from uuid import UUID

import libvirt
from lxml import etree

from cimprovider.backends.console import ClosedCallback, ConsoleKind, ConsoleStream, OutputCallback
from cimprovider.backends.errors import InUseError, InvalidStateError, NotFoundError
from cimprovider.backends.libvirt.errors import translate
from cimprovider.backends.libvirt.guest_display import framebuffer_size
from cimprovider.schemas.power import PowerState

log = logging.getLogger("cimprovider.backends.libvirt")

_ATTACHABLE = frozenset({PowerState.RUNNING, PowerState.PAUSED})
_READ_EVENTS = libvirt.VIR_STREAM_EVENT_READABLE | libvirt.VIR_STREAM_EVENT_ERROR | libvirt.VIR_STREAM_EVENT_HANGUP
CHUNK = 65536


def console_kinds_of(domain_xml: str) -> frozenset[ConsoleKind]:
    devices = etree.fromstring(domain_xml).find("devices")
    if devices is None:
        return frozenset()
    found = set()
    com1 = [s for s in devices.iterfind("serial") if s.find("target") is None or s.find("target").get("port", "0") == "0"]
    if any(s.get("type") == "pty" for s in com1):
        found.add(ConsoleKind.SERIAL)
    if devices.find("graphics[@type='vnc']") is not None:
        found.add(ConsoleKind.GRAPHICS)
    return frozenset(found)


class _Terminal(ConsoleStream):
    def __init__(self, line: "SerialLine") -> None:
        self.line = line
        self.on_output: OutputCallback | None = None
        self.on_closed: ClosedCallback | None = None

    def start(self, on_output: OutputCallback, on_closed: ClosedCallback) -> None:
        self.on_output, self.on_closed = on_output, on_closed

    def send(self, data: bytes) -> None:
        self.line.write(data)

    def close(self) -> None:
        self.line.detach(self)


class SerialLine:
    """One VM's console stream and the terminals sharing it."""

    def __init__(self, stream: libvirt.virStream, forget: Callable[["SerialLine"], None]) -> None:
        self.stream = stream
        self.forget = forget
        self.lock = threading.Lock()
        self.attached: list[_Terminal] = []
        self.pending = b""  # typed, not yet taken by the stream
        self.ended = False
        stream.eventAddCallback(_READ_EVENTS, self._on_event, None)

    def attach(self) -> _Terminal:
        terminal = _Terminal(self)
        with self.lock:
            self.attached.append(terminal)
        return terminal

    def detach(self, terminal: _Terminal) -> None:
        with self.lock:
            if terminal in self.attached:
                self.attached.remove(terminal)
            last = not self.attached and not self.ended
        if last:
            self._finish(None)

    def write(self, data: bytes) -> None:
        with self.lock:
            if self.ended:
                return
            self.pending += data
            self._flush()

    def _flush(self) -> None:
        """Give the stream what it takes now; wait to be writable for the rest."""
        while self.pending:
            sent = self.stream.send(self.pending)
            if sent == -2:
                break
            self.pending = self.pending[sent:]
        wanted = _READ_EVENTS | (libvirt.VIR_STREAM_EVENT_WRITABLE if self.pending else 0)
        self.stream.eventUpdateCallback(wanted)

    def _on_event(self, stream: libvirt.virStream, events: int, opaque: object) -> None:
        try:
            if events & libvirt.VIR_STREAM_EVENT_WRITABLE:
                with self.lock:
                    self._flush()
            if events & libvirt.VIR_STREAM_EVENT_READABLE:
                while True:
                    data = stream.recv(CHUNK)
                    if data == -2:
                        break
                    if not data:
                        self._finish("the serial console closed: the VM stopped")
                        return
                    self._deliver(data)
            if events & (libvirt.VIR_STREAM_EVENT_ERROR | libvirt.VIR_STREAM_EVENT_HANGUP):
                self._finish("the serial console closed: the VM stopped")
        except libvirt.libvirtError as error:
            self._finish(f"the serial console failed: {error.get_error_message()}")

    def _deliver(self, data: bytes) -> None:
        with self.lock:
            receivers = list(self.attached)
        for terminal in receivers:
            if terminal.on_output is not None:
                terminal.on_output(data)

    def _finish(self, reason: str | None) -> None:
        with self.lock:
            if self.ended:
                return
            self.ended = True
            receivers, self.attached = self.attached, []
        self.forget(self)
        try:
            self.stream.eventRemoveCallback()
            self.stream.abort()
        except libvirt.libvirtError:
            pass  # the stream is gone with its VM
        if reason is not None:
            for terminal in receivers:
                if terminal.on_closed is not None:
                    terminal.on_closed(reason)


class ScreenSocket(ConsoleStream):
    """A VNC connection QEMU handed over (openGraphicsFD)."""

    def __init__(self, fd: int) -> None:
        self.sock = socket.socket(fileno=fd)
        self.sock.setblocking(True)
        self.outbox: queue.Queue[bytes | None] = queue.Queue()
        self.closed = False

    def start(self, on_output: OutputCallback, on_closed: ClosedCallback) -> None:
        threading.Thread(target=self._read, args=(on_output, on_closed), name="vnc-read", daemon=True).start()
        threading.Thread(target=self._write, name="vnc-write", daemon=True).start()

    def send(self, data: bytes) -> None:
        self.outbox.put(data)

    def close(self) -> None:
        self.closed = True
        self.outbox.put(None)
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _read(self, on_output: OutputCallback, on_closed: ClosedCallback) -> None:
        try:
            while data := self.sock.recv(CHUNK):
                on_output(data)
        except OSError:
            pass
        if not self.closed:
            on_closed("the screen closed: the VM stopped")
        self.outbox.put(None)

    def _write(self) -> None:
        try:
            while (data := self.outbox.get()) is not None:
                self.sock.sendall(data)
        except OSError:
            pass
        finally:
            self.sock.close()


class LibvirtConsoles:
    """The backend's console operations (mixed into LibvirtBackend)."""

    _serial_lines: dict[UUID, SerialLine]

    def console_kinds(self, vm_id: UUID) -> frozenset[ConsoleKind]:
        domain = self._domain(vm_id)  # type: ignore[attr-defined]
        return console_kinds_of(self._call(lambda: domain.XMLDesc(0), f"read VM {vm_id}"))  # type: ignore[attr-defined]

    def open_console(self, vm_id: UUID, kind: ConsoleKind) -> ConsoleStream:
        vm = self.get_vm(vm_id)  # type: ignore[attr-defined]
        if kind not in self.console_kinds(vm_id):
            what = "no serial console on COM1 (a pty)" if kind is ConsoleKind.SERIAL else "no VNC display"
            raise NotFoundError(f"VM {vm.name!r} has {what}")
        if vm.power_state not in _ATTACHABLE:
            raise InvalidStateError(f"VM {vm.name!r} is {vm.power_state.value}: its consoles open while it runs")
        domain = self._domain(vm_id)  # type: ignore[attr-defined]
        if kind is ConsoleKind.GRAPHICS:
            skip_auth = libvirt.VIR_DOMAIN_OPEN_GRAPHICS_SKIPAUTH
            return ScreenSocket(self._call(lambda: domain.openGraphicsFD(0, skip_auth), f"open the screen of VM {vm.name!r}"))  # type: ignore[attr-defined]
        return self._serial_line(vm_id, domain, vm.name).attach()

    def guest_display_mode(self, vm_id: UUID) -> tuple[int, int] | None:
        """The mode the guest's display is in now, from its VNC display
        (see guest_display); None where it has none or does not answer."""
        domain = self._domain(vm_id)  # type: ignore[attr-defined]
        try:
            if not domain.isActive() or ConsoleKind.GRAPHICS not in console_kinds_of(domain.XMLDesc(0)):
                return None
            fd = domain.openGraphicsFD(0, libvirt.VIR_DOMAIN_OPEN_GRAPHICS_SKIPAUTH)
        except libvirt.libvirtError as error:
            log.debug("no display mode of VM %s: %s", vm_id, error.get_error_message())
            return None  # stopped meanwhile, or a display libvirt cannot hand over
        return framebuffer_size(fd)

    def _serial_line(self, vm_id: UUID, domain: libvirt.virDomain, name: str) -> SerialLine:
        with self._lock:  # type: ignore[attr-defined]
            lines = self.__dict__.setdefault("_serial_lines", {})
            line = lines.get(vm_id)
            if line is not None and not line.ended:
                return line
            stream = self._conn().newStream(libvirt.VIR_STREAM_NONBLOCK)  # type: ignore[attr-defined]
            try:
                domain.openConsole(None, stream, 0)
            except libvirt.libvirtError as error:
                stream.abort()
                if error.get_error_code() == libvirt.VIR_ERR_OPERATION_FAILED:  # "Active console session exists"
                    raise InUseError(f"cannot open the serial console of VM {name!r}: {error.get_error_message()}") from None
                raise translate(error, f"open the serial console of VM {name!r}", self._connection) from None  # type: ignore[attr-defined]

            def forget(ended: SerialLine) -> None:
                with self._lock:  # type: ignore[attr-defined]
                    if lines.get(vm_id) is ended:
                        del lines[vm_id]

            line = lines[vm_id] = SerialLine(stream, forget)
            return line
