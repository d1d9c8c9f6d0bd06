"""Tier 2: the libvirt backend on real QEMU (TCG), with a tiny guest that
answers ACPI shutdown and reports the disks and NICs it sees.

Needs libvirtd at qemu:///system: tests/run.sh starts it with
tests/backends/kvm/start-daemons.sh. Without it these tests fail.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from uuid import UUID

import libvirt
import pytest

import guest
from cimprovider.backends import change_power_state
from cimprovider.backends.libvirt import LibvirtBackend
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
    ServerConfig,
    VmDefined,
)

URI = "qemu:///system"
R, S = PowerRequest, PowerState
BOOT_SECONDS = 120


class Host:
    """libvirtd as the tests find it, a work directory QEMU may read, one
    isolated network (a bridge, no addresses, no DHCP) and our backend."""

    def __init__(self) -> None:
        try:
            self.conn = libvirt.open(URI)
        except libvirt.libvirtError as error:
            pytest.fail(f"libvirtd is not reachable at {URI} ({error}); run tests/backends/kvm/start-daemons.sh")
        self.tag = f"cimp-t2-{os.getpid()}"
        # QEMU runs as libvirt-qemu: the directory must be traversable.
        self.workdir = Path(tempfile.mkdtemp(prefix="cimprovider-kvm-"))
        self.workdir.chmod(0o755)
        self.initrd = guest.build_initrd(self.workdir)
        bridge = f"cimt{os.getpid() % 100000}"
        self.network = self.conn.networkCreateXML(f"<network><name>{self.tag}</name><bridge name='{bridge}'/></network>")
        self.backend = LibvirtBackend(ServerConfig(backend="libvirt", libvirt_uri=URI, data_dir=self.workdir / "data"))
        self.backend.shutdown_timeout_seconds = 90
        self.domains: list[str] = []

    def define_guest(self, suffix: str) -> libvirt.virDomain:
        name = f"{self.tag}-{suffix}"
        self.domains.append(name)
        return self.conn.defineXML(guest.domain_xml(name, self.workdir, self.initrd))

    def console(self, domain: libvirt.virDomain) -> Path:
        return self.workdir / f"{domain.name()}.console"

    def close(self) -> None:
        for name in self.domains:
            try:
                domain = self.conn.lookupByName(name)
            except libvirt.libvirtError:
                continue
            if domain.isActive():
                domain.destroy()
            domain.undefineFlags(libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE)
        self.backend.close()
        self.network.destroy()
        self.conn.close()
        shutil.rmtree(self.workdir, ignore_errors=True)


@pytest.fixture(scope="module")
def host() -> Iterator[Host]:
    host = Host()
    yield host
    host.close()


def wait_for_console(path: Path, pattern: str, after: int = 0, timeout: float = BOOT_SECONDS) -> str:
    """The first console line past byte `after` matching `pattern`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            text = path.read_text(errors="replace")[after:]
            match = re.search(pattern, text)
            if match:
                return match.group(0)
        time.sleep(0.5)
    tail = path.read_text(errors="replace")[-2000:] if path.exists() else "(no console output)"
    raise AssertionError(f"the guest never printed {pattern!r}; console ends:\n{tail}")


def wait_for_event(events, match, timeout: float = 30):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for event in events.drain():
            if match(event):
                return event
        time.sleep(0.1)
    raise AssertionError("the expected event did not reach the bus")


def console_size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


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
    wait_for_console(console, r"guest: disks=", after=mark, timeout=30)  # the restored guest carries on
    assert not domain.hasManagedSaveImage(0)

    events.drain()
    assert change_power_state(backend, vm_id, R.SHUTDOWN).power_state is S.OFF
    wait_for_console(console, r"power button, powering off", timeout=5)
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
    wait_for_event(events, lambda e: isinstance(e, PowerStateChanged) and e.new is S.RUNNING)

    subprocess.run(
        ["virsh", "-q", "-c", URI, "attach-interface", domain.name(), "network", host.tag,
         "--model", "virtio", "--mac", "52:54:00:c1:a0:01", "--live", "--config"],
        check=True, capture_output=True,
    )
    added = wait_for_event(events, lambda e: isinstance(e, DeviceAdded) and e.vm_id == vm_id)
    assert isinstance(added.device, NetworkAdapter) and added.device.mac_address == "525400C1A001"

    subprocess.run(["virsh", "-q", "-c", URI, "destroy", domain.name()], check=True, capture_output=True)
    off = wait_for_event(events, lambda e: isinstance(e, PowerStateChanged) and e.new is S.OFF)
    assert off.old is S.RUNNING and backend.get_vm(vm_id).power_state is S.OFF
