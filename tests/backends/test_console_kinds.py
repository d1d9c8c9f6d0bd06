"""Which consoles a VM defined through the backend has: COM1 as a serial
console on both backends; a screen on KVM only (the simulated host has no
display to show)."""

from __future__ import annotations

from cimprovider.backends import Backend
from cimprovider.backends.console import ConsoleBackend, ConsoleKind
from cimprovider.schemas import SystemSettings


def test_a_new_vm_has_its_consoles(backend: Backend, harness) -> None:
    vm = backend.define_vm(SystemSettings(name="consoles"))
    assert isinstance(backend, ConsoleBackend)
    expected = {ConsoleKind.SERIAL} | ({ConsoleKind.GRAPHICS} if harness.name == "libvirt" else set())
    assert backend.console_kinds(vm.id) == expected
