"""Tier 2: the server manages the QEMU host through a remote URI
(qemu+tcp://127.0.0.1:<port>/system, the TCP listener start-daemons.sh
gives libvirtd) exactly as through qemu:///system: what it defines is
libvirt's, what virsh does shows up over the remote connection, and a
dropped connection recovers.

The remote side is checked with virsh and libvirt on the local socket,
so nothing is taken on the word of the connection under test."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from uuid import UUID

import libvirt
import pytest
from lxml import etree
from pywbem import CIMInstanceName

import guest
from cimprovider.backends import InvalidParameterError, InvalidStateError
from cimprovider.backends.libvirt import LibvirtBackend
from cimprovider.schemas import Drive, Media, PowerState, PowerStateChanged, ServerConfig, SystemSettings, VmDefined
from cimprovider.schemas.events import BackendHealthChanged
from qemu_host import URI, Host, host, libvirtd_in_use, shared_host, wait_for_console, wait_for_event  # noqa: F401 (fixtures)
from tests.integration.model.hyperv import NS, check, define_vm, request_state, service, state
from tests.support.live import in_process_server

PORT_FILE = Path("/run/cimprovider-tests/libvirtd-tcp.port")
RUNNING, OFF, PAUSED = 2, 3, 9


@pytest.fixture(scope="module")
def remote_uri() -> str:
    if not PORT_FILE.is_file():
        pytest.fail(f"{PORT_FILE} is missing: libvirtd was not started by tests/backends/kvm/start-daemons.sh")
    return f"qemu+tcp://127.0.0.1:{PORT_FILE.read_text().strip()}/system"


def virsh(*args: str) -> str:
    return subprocess.run(["virsh", "-q", "-c", URI, *args], check=True, capture_output=True, text=True, timeout=60).stdout


def until(check: Callable[[], object], timeout: float = 30, what: str = "the condition") -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"{what} did not happen within {timeout:.0f} s")


def boot_the_tiny_guest(host: Host, domain: libvirt.virDomain) -> libvirt.virDomain:
    """A VM defined over CIM has no disk to boot from: give it the tiny
    guest's kernel and initrd and its console in a file, through the
    local socket (the backend keeps a direct kernel boot as it finds it)."""
    root = etree.fromstring(domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
    os_element = root.find("os")
    for tag, text in (("kernel", str(guest.kernel())), ("initrd", str(host.initrd)), ("cmdline", "console=ttyS0 panic=-1 quiet")):
        etree.SubElement(os_element, tag).text = text
    devices = root.find("devices")
    for serial in devices.findall("serial"):
        if serial.find("target") is None or serial.find("target").get("port", "0") == "0":
            devices.remove(serial)
    devices.append(etree.fromstring(
        f"<serial type='file'><source path='{host.console(domain)}'/><target port='0'/></serial>"))
    return host.conn.defineXML(etree.tostring(root, encoding="unicode"))


def test_a_server_on_a_remote_uri_defines_starts_sees_virsh_and_recovers(host: Host, remote_uri: str, tmp_path: Path) -> None:
    if shutil.which("virt-admin") is None:
        pytest.fail("virt-admin not found (libvirt-clients): it drops the remote connection here")
    watcher = LibvirtBackend(ServerConfig(backend="libvirt", libvirt_uri=remote_uri, data_dir=tmp_path / "watcher"))
    events = watcher.events.subscribe_queue(kinds=[PowerStateChanged, VmDefined, BackendHealthChanged])
    try:
        with in_process_server(tmp_path / "data", backend="libvirt", libvirt_uri=remote_uri, libvirt_domain_type="qemu") as server:
            conn = server.connection(NS)
            # Found while libvirt answers: VMs cannot be listed without it.
            host_system = next(p for p in conn.EnumerateInstanceNames("Msvm_ComputerSystem") if not _is_guid(str(p["Name"])))

            # Defined over CIM through the remote URI: libvirt has it.
            name = f"{host.tag}-remote-cim"
            vm = define_vm(conn, name)
            guid = str(vm["Name"])
            domain = host.conn.lookupByUUIDString(guid)
            host.domains.append(domain.name())
            assert domain.name() in virsh("list", "--all", "--name").split()
            assert domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE).startswith("<domain type='qemu'")

            # RequestStateChange over CIM boots it.
            domain = boot_the_tiny_guest(host, domain)
            code, job = request_state(conn, vm, RUNNING)
            assert code == 4096 and job["JobState"] == 7, job and job["ErrorDescription"]
            wait_for_console(host.console(domain), r"guest: ready")
            assert domain.isActive() and state(conn, vm) == RUNNING

            # virsh behind the server's back: the event crosses the remote connection.
            events.drain()
            virsh("suspend", domain.name())
            paused = wait_for_event(events, lambda e: isinstance(e, PowerStateChanged) and e.vm_id == UUID(guid))
            assert (paused.old, paused.new) == (PowerState.RUNNING, PowerState.PAUSED)
            until(lambda: state(conn, vm) == PAUSED, what="EnabledState 9 over CIM-XML")

            # A domain defined with virsh on the local socket is a VM over the remote one.
            local = host.define_guest("remote-virsh")
            defined = wait_for_event(events, lambda e: isinstance(e, VmDefined) and e.vm.id == UUID(local.UUIDString()))
            assert defined.vm.name == local.name()
            local_path = CIMInstanceName("Msvm_ComputerSystem", namespace=NS,
                                         keybindings={"CreationClassName": "Msvm_ComputerSystem", "Name": local.UUIDString().upper()})
            assert conn.GetInstance(local_path)["ElementName"] == local.name() and state(conn, local_path) == OFF

            # Dropped: every TCP client of libvirtd is cut off (only this
            # module's connections use TCP); both backends reconnect.
            events.drain()
            drop_tcp_clients()
            lost = wait_for_event(events, lambda e: isinstance(e, BackendHealthChanged))
            assert not lost.health.healthy and remote_uri in lost.health.detail
            back = wait_for_event(events, lambda e: isinstance(e, BackendHealthChanged), timeout=60)
            assert back.health.healthy and watcher.health().healthy
            until(lambda: conn.GetInstance(host_system)["HealthState"] == 5, timeout=60, what="the server's host back to OK")
            virsh("resume", domain.name())
            resumed = wait_for_event(events, lambda e: isinstance(e, PowerStateChanged) and e.vm_id == UUID(guid))
            assert resumed.new is PowerState.RUNNING
            until(lambda: state(conn, vm) == RUNNING, what="EnabledState 2 over CIM-XML after the reconnection")

            code, _ = request_state(conn, vm, OFF)
            assert code == 4096 and not domain.isActive()
            check(conn, conn.InvokeMethod("DestroySystem", service(conn), AffectedSystem=vm))
            assert domain.name() not in virsh("list", "--all", "--name").split()
            host.domains.remove(domain.name())
    finally:
        watcher.close()


def test_on_a_remote_uri_disk_formats_come_from_the_hosts_storage_and_its_files_are_left_alone(
    host: Host, remote_uri: str, tmp_path: Path
) -> None:
    """A remote host's files are not the server's: formats are what the
    host's storage pool probed (a qcow2 named .img is qcow2), a VHDX is
    refused rather than converted here, and a VM whose disks need external
    snapshots (VHD) is refused a snapshot rather than given overlays made
    here."""
    disks = host.workdir / "remote-disks"
    disks.mkdir(mode=0o755)
    disguised, vhd, vhdx = disks / "data.img", disks / "system.vhd", disks / "system.vhdx"
    for path, fmt in ((disguised, "qcow2"), (vhd, "vpc"), (vhdx, "vhdx")):
        subprocess.run(["qemu-img", "create", "-q", "-f", fmt, str(path), "8M"], check=True)
    pool = host.conn.storagePoolCreateXML(
        f"<pool type='dir'><name>{host.tag}-remote</name><target><path>{disks}</path></target></pool>", 0)
    backend = LibvirtBackend(ServerConfig(backend="libvirt", libvirt_uri=remote_uri, data_dir=tmp_path / "data",
                                          libvirt_domain_type="qemu", storage_roots=[disks]))
    try:
        vm = backend.define_vm(SystemSettings(name=f"{host.tag}-remote-disks"))
        host.domains.append(host.conn.lookupByUUID(vm.id.bytes).name())
        ide = vm.controllers[0]
        for slot, path in enumerate((vhd, disguised)):
            backend.add_device(vm.id, Drive(controller_id=ide.id, slot=slot, media=Media(path=str(path))))
        domain = host.conn.lookupByUUID(vm.id.bytes)
        xml = etree.fromstring(domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
        formats = {d.find("source").get("file"): d.find("driver").get("type") for d in xml.iterfind("devices/disk")
                   if d.find("source") is not None}
        assert formats == {str(vhd): "vpc", str(disguised): "qcow2"}

        # The storage roots hold on the remote host too; there the host's pools say what exists.
        with pytest.raises(InvalidParameterError, match="leaves the storage roots"):
            backend.add_device(vm.id, Drive(controller_id=vm.controllers[1].id, media=Media(path="/etc/shadow")))
        with pytest.raises(InvalidParameterError, match="no such file in the libvirt host's storage pools"):
            backend.add_device(vm.id, Drive(controller_id=vm.controllers[1].id, media=Media(path=str(disks / "gone.img"))))
        with pytest.raises(InvalidParameterError, match="convert it to qcow2 on the libvirt host"):
            backend.add_device(vm.id, Drive(controller_id=vm.controllers[1].id, media=Media(path=str(vhdx))))
        with pytest.raises(InvalidStateError, match=rf"remote libvirt host .*{vhd.name}.* not qcow2"):
            backend.create_snapshot(vm.id)
        assert domain.snapshotNum(0) == 0
        assert sorted(p.name for p in disks.iterdir()) == ["data.img", "system.vhd", "system.vhdx"]  # nothing made here
        backend.destroy_vm(vm.id)
        host.domains.pop()
    finally:
        backend.close()
        pool.destroy()


def drop_tcp_clients() -> None:
    listed = subprocess.run(["virt-admin", "srv-clients-list", "libvirtd"], check=True, capture_output=True, text=True,
                            timeout=30).stdout
    clients = [line.split()[0] for line in listed.splitlines() if len(line.split()) > 1 and line.split()[1] == "tcp"]
    assert clients, f"no TCP client of libvirtd to drop:\n{listed}"
    for client in clients:
        subprocess.run(["virt-admin", "client-disconnect", "libvirtd", client], check=True, capture_output=True, timeout=30)


def _is_guid(text: str) -> bool:
    try:
        UUID(text)
    except ValueError:
        return False
    return True
