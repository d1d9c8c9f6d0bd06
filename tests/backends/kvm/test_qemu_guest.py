"""Tier 2: the libvirt backend on real QEMU (TCG), with a tiny guest that
answers ACPI shutdown and reports the disks and NICs it sees.

Needs libvirtd at qemu:///system: tests/run.sh starts it with
tests/backends/kvm/start-daemons.sh. Without it these tests fail.
"""

from __future__ import annotations

import subprocess
from uuid import UUID

import libvirt

from cimprovider.backends import change_power_state
from cimprovider.schemas import (
    ControllerType,
    DeviceAdded,
    DeviceRemoved,
    Drive,
    HeartbeatState,
    Media,
    NetworkAdapter,
    PowerRequest,
    PowerState,
    PowerStateChanged,
    VmDefined,
)
from qemu_host import URI, Host, console_size, host, libvirtd_in_use, shared_host, wait_for_console, wait_for_event  # noqa: F401 (fixtures)

R, S = PowerRequest, PowerState


def test_a_guest_defined_with_virsh_starts_pauses_saves_restores_and_shuts_down(host: Host) -> None:
    events = host.backend.events.subscribe_queue()
    domain = host.define_guest("power")
    vm_id = UUID(domain.UUIDString())
    defined = wait_for_event(events, lambda e: isinstance(e, VmDefined) and e.vm.id == vm_id)
    assert defined.vm.name == domain.name() and defined.vm.power_state is S.OFF
    backend, console = host.backend, host.console(domain)

    assert change_power_state(backend, vm_id, R.START).power_state is S.RUNNING
    wait_for_console(console, r"guest: ready")
    figures = backend.get_runtime(vm_id)
    assert figures.uptime_ms > 0 and figures.memory_in_use_mb > 0
    # No guest agent in this guest: its integration services are absent.
    assert figures.heartbeat is HeartbeatState.NO_CONTACT and figures.integration_services == {}

    assert change_power_state(backend, vm_id, R.PAUSE).power_state is S.PAUSED
    assert domain.state()[0] == libvirt.VIR_DOMAIN_PAUSED
    assert change_power_state(backend, vm_id, R.START).power_state is S.RUNNING

    assert change_power_state(backend, vm_id, R.SAVE).power_state is S.SAVED
    assert not domain.isActive() and domain.hasManagedSaveImage(0)
    mark = console_size(console)
    assert change_power_state(backend, vm_id, R.START).power_state is S.RUNNING
    wait_for_console(console, r"guest: disks=", after=mark, timeout=60)  # the restored guest carries on
    assert not domain.hasManagedSaveImage(0)

    events.drain()
    assert change_power_state(backend, vm_id, R.SHUTDOWN).power_state is S.OFF
    wait_for_console(console, r"power button, powering off", timeout=60)
    changes = [(e.old, e.new) for e in events.drain() if isinstance(e, PowerStateChanged) and e.vm_id == vm_id]
    assert changes == [(S.RUNNING, S.STOPPING), (S.STOPPING, S.OFF)]


def test_a_scsi_disk_and_a_nic_are_hot_added_and_removed_and_the_guest_sees_them(host: Host) -> None:
    domain = host.define_guest("hotplug")
    vm_id = UUID(domain.UUIDString())
    backend, console = host.backend, host.console(domain)
    image = host.workdir / "data-disk.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(image), "64M"], check=True)
    change_power_state(backend, vm_id, R.START)
    wait_for_console(console, r"guest: ready")

    events = backend.events.subscribe_queue(kinds=[DeviceAdded, DeviceRemoved])
    scsi = next(c for c in backend.get_vm(vm_id).controllers if c.controller_type is ControllerType.SCSI)
    disk = backend.add_device(vm_id, Drive(controller_id=scsi.id, media=Media(path=str(image))))
    switch = next(s for s in backend.list_switches() if s.name == host.tag)
    nic = backend.add_device(vm_id, NetworkAdapter(switch_id=switch.id))
    assert [type(e) for e in events.drain()] == [DeviceAdded, DeviceAdded]
    mark = console_size(console)
    wait_for_console(console, r"disks=[^\n]*sda[^\n]*nets=[^\n]*eth0", after=mark, timeout=60)
    live = domain.XMLDesc(0)
    assert f"ua-{disk.id}" in live and f"ua-{nic.id}" in live
    stored = backend.get_vm(vm_id)
    assert disk in stored.drives and nic in stored.network_adapters

    backend.remove_device(vm_id, disk.id)
    mark = console_size(console)
    wait_for_console(console, r"guest: disks=(?![^\n]*sda)[^\n]*nets=", after=mark, timeout=60)
    assert disk.id not in {d.id for d in backend.get_vm(vm_id).drives}
    assert str(image) not in domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)  # gone from the next boot too
    change_power_state(backend, vm_id, R.STOP)


def test_changes_made_with_virsh_to_a_running_guest_reach_the_bus(host: Host) -> None:
    domain = host.define_guest("virsh")
    vm_id = UUID(domain.UUIDString())
    backend, console = host.backend, host.console(domain)
    change_power_state(backend, vm_id, R.START)
    wait_for_console(console, r"guest: ready")
    events = backend.events.subscribe_queue()

    subprocess.run(["virsh", "-q", "-c", URI, "suspend", domain.name()], check=True, capture_output=True)
    paused = wait_for_event(events, lambda e: isinstance(e, PowerStateChanged) and e.vm_id == vm_id)
    assert (paused.old, paused.new, paused.request) == (S.RUNNING, S.PAUSED, None)
    subprocess.run(["virsh", "-q", "-c", URI, "resume", domain.name()], check=True, capture_output=True)
    wait_for_event(events, lambda e: isinstance(e, PowerStateChanged) and e.vm_id == vm_id and e.new is S.RUNNING)

    subprocess.run(
        ["virsh", "-q", "-c", URI, "attach-interface", domain.name(), "network", host.tag,
         "--model", "virtio", "--mac", "52:54:00:c1:a0:01", "--live", "--config"],
        check=True, capture_output=True,
    )
    added = wait_for_event(events, lambda e: isinstance(e, DeviceAdded) and e.vm_id == vm_id)
    assert isinstance(added.device, NetworkAdapter) and added.device.mac_address == "525400C1A001"

    subprocess.run(["virsh", "-q", "-c", URI, "destroy", domain.name()], check=True, capture_output=True)
    off = wait_for_event(events, lambda e: isinstance(e, PowerStateChanged) and e.vm_id == vm_id and e.new is S.OFF)
    # QEMU may report the domain shutting down for a moment before it is
    # gone; Hyper-V's own guest power-off passes through Stopping too.
    assert off.old in (S.RUNNING, S.STOPPING) and backend.get_vm(vm_id).power_state is S.OFF
