"""The simulated guest's serial console (COM1): a tiny shell per boot,
shared by every attached terminal, ended when the VM stops."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from cimprovider.backends import InvalidStateError, NotFoundError, change_power_state
from cimprovider.backends.console import ConsoleBackend, ConsoleKind
from cimprovider.backends.simulated import SimulatedBackend
from cimprovider.backends.simulated.serial_shell import SerialShell
from cimprovider.schemas import PowerRequest, ServerConfig, SystemSettings


class Terminal:
    """What a user's terminal receives."""

    def __init__(self) -> None:
        self.text = b""
        self.closed: str | None = None
        self.changed = threading.Condition()

    def output(self, data: bytes) -> None:
        with self.changed:
            self.text += data
            self.changed.notify_all()

    def ended(self, reason: str) -> None:
        with self.changed:
            self.closed = reason
            self.changed.notify_all()

    def wait_for(self, what: bytes, timeout: float = 30) -> None:
        with self.changed:
            assert self.changed.wait_for(lambda: what in self.text, timeout), f"{what!r} not in {self.text!r}"


class Clock:
    """The simulated host's clock, moved by the test."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def backend(tmp_path: Path, clock: Clock):
    with SimulatedBackend(ServerConfig(data_dir=tmp_path, transition_seconds=0.01), clock=clock) as opened:
        yield opened


def running_vm(backend: SimulatedBackend, name: str = "Web Server 1"):
    vm = backend.define_vm(SystemSettings(name=name))
    change_power_state(backend, vm.id, PowerRequest.START)
    return vm


def attach(backend: SimulatedBackend, vm_id) -> tuple[object, Terminal]:
    terminal = Terminal()
    stream = backend.open_console(vm_id, ConsoleKind.SERIAL)
    stream.start(terminal.output, terminal.ended)
    return stream, terminal


def test_the_simulated_backend_offers_consoles(backend: SimulatedBackend) -> None:
    vm = backend.define_vm(SystemSettings(name="a"))
    assert isinstance(backend, ConsoleBackend)
    assert backend.console_kinds(vm.id) == {ConsoleKind.SERIAL}


def test_echo_answers_on_the_serial_line(backend: SimulatedBackend) -> None:
    vm = running_vm(backend)
    stream, terminal = attach(backend, vm.id)
    terminal.wait_for(b"root@web-server-1:~# ")
    stream.send(b"echo hello\r")
    terminal.wait_for(b"echo hello\r\nhello\r\nroot@web-server-1:~# ")


def test_uname_and_uptime(backend: SimulatedBackend, clock: Clock) -> None:
    vm = running_vm(backend)
    stream, terminal = attach(backend, vm.id)
    stream.send(b"uname -a\r")
    terminal.wait_for(b"Linux web-server-1 6.1.0-cimprovider-sim #1 SMP x86_64 GNU/Linux\r\n")
    clock.now += 3725
    stream.send(b"uptime\r")
    terminal.wait_for(b"up 1:02 (3725 s),  load average: 0.00, 0.00, 0.00\r\n")


def test_line_editing_backspace_and_interrupt() -> None:
    shell = SerialShell("guest", lambda: 0)
    assert shell.feed(b"echo hx\x7fi") == b"echo hx\b \bi"
    assert shell.feed(b"\r") == b"\r\nhi\r\nroot@guest:~# "
    assert shell.feed(b"echo lost\x03") == b"echo lost^C\r\nroot@guest:~# "
    # An arrow key's escape sequence is not typed into the line.
    assert shell.feed(b"\x1b[Aecho ok\r").endswith(b"\r\nok\r\nroot@guest:~# ")
    assert shell.feed(b"reboot\r") == b"reboot\r\nsh: reboot: not found\r\nroot@guest:~# "


def test_variables_live_until_the_vm_stops(backend: SimulatedBackend) -> None:
    vm = running_vm(backend)
    stream, terminal = attach(backend, vm.id)
    stream.send(b"GREETING=hi\recho $GREETING there\r")
    terminal.wait_for(b"\r\nhi there\r\n")
    change_power_state(backend, vm.id, PowerRequest.STOP)
    with terminal.changed:
        assert terminal.changed.wait_for(lambda: terminal.closed is not None, 30)
    assert terminal.closed == "the VM is stopping"
    change_power_state(backend, vm.id, PowerRequest.START)
    stream, terminal = attach(backend, vm.id)
    stream.send(b"echo [$GREETING]\r")
    terminal.wait_for(b"\r\n[]\r\n")


def test_terminals_share_the_line(backend: SimulatedBackend) -> None:
    vm = running_vm(backend)
    first, one = attach(backend, vm.id)
    _, two = attach(backend, vm.id)
    first.send(b"echo both\r")
    two.wait_for(b"\r\nboth\r\n")
    first.close()
    _, three = attach(backend, vm.id)
    three.wait_for(b"# ")
    before = len(one.text)
    three_stream = backend.open_console(vm.id, ConsoleKind.SERIAL)
    three_stream.start(three.output, three.ended)
    three_stream.send(b"echo after\r")
    two.wait_for(b"\r\nafter\r\n")
    assert len(one.text) == before  # a closed terminal hears nothing more


def test_a_reset_gives_a_new_shell(backend: SimulatedBackend, clock: Clock) -> None:
    vm = running_vm(backend)
    stream, terminal = attach(backend, vm.id)
    clock.now += 5
    change_power_state(backend, vm.id, PowerRequest.RESET)
    with terminal.changed:
        assert terminal.changed.wait_for(lambda: terminal.closed is not None, 30)
    assert terminal.closed == "the VM restarted"


def test_no_console_while_off_or_for_an_unknown_vm(backend: SimulatedBackend) -> None:
    vm = backend.define_vm(SystemSettings(name="idle"))
    with pytest.raises(InvalidStateError, match="'idle' is off"):
        backend.open_console(vm.id, ConsoleKind.SERIAL)
    with pytest.raises(NotFoundError, match="no graphics console"):
        backend.open_console(vm.id, ConsoleKind.GRAPHICS)
    with pytest.raises(NotFoundError):
        backend.open_console(__import__("uuid").uuid4(), ConsoleKind.SERIAL)
