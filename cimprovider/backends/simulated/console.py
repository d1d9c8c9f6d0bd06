"""Serial consoles of simulated VMs: each running VM has one shell on COM1
(serial_shell.py), shared by every terminal attached to it, as a real
serial line is. The shell lives as long as the boot it belongs to: when
the VM stops, is saved or restarts, attached terminals are told and a later
attach meets a new shell."""

from __future__ import annotations

import threading
from collections.abc import Callable
from uuid import UUID

from cimprovider.backends.console import ClosedCallback, ConsoleKind, ConsoleStream, OutputCallback
from cimprovider.backends.errors import InvalidStateError, NotFoundError
from cimprovider.backends.simulated.serial_shell import SerialShell, guest_hostname
from cimprovider.events import EventBus
from cimprovider.schemas.events import PowerStateChanged
from cimprovider.schemas.power import PowerState
from cimprovider.schemas.vm import VirtualMachine

# States in which the guest's shell is there to answer (paused: it answers
# when resumed, and keeps its variables meanwhile).
_ALIVE = frozenset({PowerState.RUNNING, PowerState.PAUSED, PowerState.PAUSING, PowerState.RESUMING})


class _SerialLine:
    """One boot's COM1: its shell and the terminals attached to it."""

    def __init__(self, shell: SerialShell, boot: float) -> None:
        self.shell = shell
        self.boot = boot
        self.lock = threading.Lock()
        self.attached: list[_SerialTerminal] = []

    def typed(self, data: bytes) -> None:
        with self.lock:
            answer = self.shell.feed(data)
            receivers = list(self.attached)
        for terminal in receivers:
            terminal.deliver(answer)

    def end(self, reason: str) -> None:
        with self.lock:
            receivers, self.attached = self.attached, []
        for terminal in receivers:
            terminal.ended(reason)


class _SerialTerminal(ConsoleStream):
    def __init__(self, line: _SerialLine) -> None:
        self.line = line
        self.on_output: OutputCallback | None = None
        self.on_closed: ClosedCallback | None = None

    def start(self, on_output: OutputCallback, on_closed: ClosedCallback) -> None:
        self.on_output, self.on_closed = on_output, on_closed
        with self.line.lock:
            self.line.attached.append(self)
            banner = self.line.shell.banner()
        on_output(banner)

    def send(self, data: bytes) -> None:
        self.line.typed(data)

    def close(self) -> None:
        with self.line.lock:
            if self in self.line.attached:
                self.line.attached.remove(self)

    def deliver(self, data: bytes) -> None:
        if data and self.on_output is not None:
            self.on_output(data)

    def ended(self, reason: str) -> None:
        if self.on_closed is not None:
            self.on_closed(reason)


class SimulatedConsoles:
    def __init__(self, bus: EventBus, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._lines: dict[UUID, _SerialLine] = {}
        self._subscription = bus.subscribe(self._power_changed, [PowerStateChanged])

    def kinds(self, vm: VirtualMachine) -> frozenset[ConsoleKind]:
        has_com1 = any(port.port_number == 1 for port in vm.serial_ports)
        return frozenset({ConsoleKind.SERIAL}) if has_com1 else frozenset()

    def open(self, vm: VirtualMachine, started_at: float | None, kind: ConsoleKind) -> ConsoleStream:
        if kind not in self.kinds(vm):
            raise NotFoundError(f"VM {vm.name!r} has no {kind.value} console (the simulated host offers COM1 only)")
        if vm.power_state not in _ALIVE or started_at is None:
            raise InvalidStateError(f"VM {vm.name!r} is {vm.power_state.value}: its serial console answers while it runs")
        with self._lock:
            line = self._lines.get(vm.id)
            if line is None or line.boot != started_at:
                stale, line = line, _SerialLine(SerialShell(guest_hostname(vm.name), lambda: self._clock() - started_at), started_at)
                self._lines[vm.id] = line
            else:
                stale = None
        if stale is not None:
            stale.end("the VM restarted")
        return _SerialTerminal(line)

    def close(self) -> None:
        self._subscription.close()
        with self._lock:
            lines, self._lines = list(self._lines.values()), {}
        for line in lines:
            line.end("the server is stopping")

    def end(self, vm_id: UUID, reason: str) -> None:
        """The boot is over: attached terminals are told, the shell goes."""
        with self._lock:
            line = self._lines.pop(vm_id, None)
        if line is not None:
            line.end(reason)

    def _power_changed(self, event: PowerStateChanged) -> None:
        if event.new not in _ALIVE:
            self.end(event.vm_id, f"the VM is {event.new.value}")
