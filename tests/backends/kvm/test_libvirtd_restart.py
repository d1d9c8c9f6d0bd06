"""Tier 2: libvirtd really stops and starts again. The backend reports the
lost connection (its health, a BackendHealthChanged, the host's
HealthState over CIM-XML), retries with backoff, and once libvirtd is back
catches up with a domain defined while it was away.

"Defined while it was away" is a definition file put into libvirt's
configuration directory while the daemon is down: libvirtd loads it when
it starts and sends no event for it, so only the backend's resync can find
it. The test holds libvirtd alone (see `qemu_host.libvirtd_lock`)."""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import libvirt

import guest
from cimprovider.backends.libvirt import LibvirtBackend
from cimprovider.schemas import ServerConfig, VmDefined
from cimprovider.schemas.events import BackendHealthChanged
from qemu_host import URI, libvirtd_lock, wait_for_event
from tests.support.live import in_process_server

DAEMONS = Path(__file__).with_name("start-daemons.sh")
CONFIG_DIR = Path("/etc/libvirt/qemu")
HOST_DESCRIPTION = "Microsoft Hosting Computer System"


def daemons(command: str) -> None:
    subprocess.run([str(DAEMONS), command], check=True, capture_output=True, timeout=60)


def until(check: Callable[[], object], timeout: float = 30, what: str = "the condition") -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"{what} did not happen within {timeout:.0f} s")


def test_a_restarted_libvirtd_degrades_the_host_then_recovers_with_what_was_defined_meanwhile(tmp_path: Path) -> None:
    with libvirtd_lock(exclusive=True):
        restart_libvirtd(tmp_path)


def restart_libvirtd(tmp_path: Path) -> None:
    name = f"cimp-t2-restart-{uuid.uuid4().hex[:8]}"
    domain_uuid = uuid.uuid4()
    xml = guest.domain_xml(name, tmp_path, tmp_path / "initrd.cpio").replace(
        f"<name>{name}</name>", f"<name>{name}</name><uuid>{domain_uuid}</uuid>"
    )
    backend = LibvirtBackend(ServerConfig(backend="libvirt", libvirt_uri=URI, data_dir=tmp_path / "direct"))
    events = backend.events.subscribe_queue(kinds=[BackendHealthChanged, VmDefined])
    stopped = False
    try:
        with in_process_server(tmp_path / "data", backend="libvirt", libvirt_uri=URI) as server:
            cim = server.connection("root/virtualization/v2")

            # Found while libvirt answers: VMs cannot be listed without it.
            host_path = next(p for p in cim.EnumerateInstanceNames("Msvm_ComputerSystem") if not _is_guid(str(p["Name"])))

            def host() -> dict:
                return dict(cim.GetInstance(host_path).items())

            host_path_ok = host()
            assert host_path_ok["Description"] == HOST_DESCRIPTION and host_path_ok["HealthState"] == 5
            assert backend.health().healthy

            daemons("stop-libvirtd")
            stopped = True
            lost = wait_for_event(events, lambda e: isinstance(e, BackendHealthChanged))
            assert (lost.backend, lost.health.healthy) == ("libvirt", False)
            # Backoff: tries fail, each waits longer than the one before.
            # Backoff: 0.5 s, then 1 s, 2 s, 4 s… between tries.
            until(lambda: backend.health().reconnect_attempts >= 2, timeout=15, what="two failed reconnections")
            health = backend.health()
            delay = 0.5 * 2 ** health.reconnect_attempts
            assert f"{health.reconnect_attempts} tries failed" in health.detail and f"next in {delay:.1f} s" in health.detail
            degraded = until(lambda: (h := host())["HealthState"] == 20 and h, what="the host's degraded HealthState")
            assert list(degraded["OperationalStatus"]) == [13]  # Lost Communication
            assert "lost the connection to qemu:///system" in degraded["StatusDescriptions"][0]
            # Listing systems still answers: the degraded host alone, not a fault.
            assert [s["HealthState"] for s in cim.EnumerateInstances("Msvm_ComputerSystem")] == [20]

            (CONFIG_DIR / f"{name}.xml").write_text(xml)
            daemons("start-libvirtd")
            stopped = False

            arrived: list = []
            until(lambda: arrived.extend(events.drain()) or any(isinstance(e, VmDefined) for e in arrived), timeout=60,
                  what="the VM defined meanwhile reaching the bus")
            back, defined = arrived[0], next(e for e in arrived if isinstance(e, VmDefined))
            assert isinstance(back, BackendHealthChanged) and back.health.healthy  # first back, then the catching up
            assert (defined.vm.id, defined.vm.name) == (domain_uuid, name) and backend.health().reconnect_attempts == 0
            until(lambda: host()["HealthState"] == 5, timeout=60, what="the host's recovery")
            names = until(
                lambda: {str(s["ElementName"]) for s in cim.EnumerateInstances("Msvm_ComputerSystem")} >= {name}
                and True,
                what="the VM defined meanwhile appearing over CIM-XML",
            )
            assert names
    finally:
        if stopped:
            daemons("start-libvirtd")
        backend.close()
        conn = libvirt.open(URI)
        try:
            conn.lookupByUUID(domain_uuid.bytes).undefine()
        except libvirt.libvirtError:
            (CONFIG_DIR / f"{name}.xml").unlink(missing_ok=True)
        conn.close()


def _is_guid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True
