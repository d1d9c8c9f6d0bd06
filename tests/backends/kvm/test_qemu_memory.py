"""Tier 2: dynamic memory grows while the guest runs, beyond what it
booted with: QEMU hot-adds a memory module (DIMM) into a slot the VM's
definition reserves, and the guest's MemTotal (on its console) grows."""

from __future__ import annotations

import re
from uuid import UUID

import libvirt
import pytest

from cimprovider.backends import InvalidStateError, change_power_state
from cimprovider.schemas import PowerRequest, PowerState
from qemu_host import Host, console_size, host, libvirtd_in_use, shared_host, wait_for_console  # noqa: F401 (fixtures)


def memkb(line: str) -> int:
    return int(re.search(r"memkb=(\d+)", line).group(1))  # type: ignore[union-attr]


def test_dynamic_memory_is_hot_added_and_the_guest_sees_it(host: Host) -> None:
    domain = host.define_guest("memory")
    vm_id = UUID(domain.UUIDString())
    backend, console = host.backend, host.console(domain)
    memory = backend.get_vm(vm_id).memory
    assert (memory.startup_mb, memory.dynamic_enabled) == (256, False)
    dynamic = backend.modify_device(vm_id, memory.replace(dynamic_enabled=True, minimum_mb=256, maximum_mb=512))
    assert dynamic.maximum_mb == 512  # type: ignore[union-attr]
    config = domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
    assert "<maxMemory slots='16' unit='KiB'>524288</maxMemory>" in config and "<numa>" in config

    change_power_state(backend, vm_id, PowerRequest.START)
    booted = memkb(wait_for_console(console, r"guest: disks=[^\n]*memkb=\d+"))
    grown = backend.modify_device(vm_id, backend.get_vm(vm_id).memory.replace(startup_mb=384))
    assert grown.startup_mb == 384 and backend.get_vm(vm_id).memory.startup_mb == 384  # type: ignore[union-attr]
    assert "model='dimm'" in domain.XMLDesc(0)
    mark = console_size(console)
    deadline_line = wait_for_console(console, rf"memkb=(?!{booted}\b)\d+", after=mark, timeout=60)
    assert memkb(deadline_line) >= booted + 120 * 1024  # 128 MiB, less what the kernel keeps for its map

    # Past the maximum is the model's refusal; shrinking waits for power off.
    with pytest.raises(InvalidStateError):
        backend.modify_device(vm_id, backend.get_vm(vm_id).memory.replace(startup_mb=256))
    change_power_state(backend, vm_id, PowerRequest.STOP)
    assert backend.get_vm(vm_id).power_state is PowerState.OFF and backend.get_vm(vm_id).memory.startup_mb == 384
