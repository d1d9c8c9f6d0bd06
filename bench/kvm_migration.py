"""Live migration between two KVM hosts on this machine (tier 2: the
suite's libvirtd, started by tests/backends/kvm/start-daemons.sh, and a
second one started here): the tiny guest with a qcow2 disk holding SIZE
MiB of data moves through MigrateVirtualSystemToHost between two
cimprovider servers, ROUNDS times (there and back). Reports how long each
move took, and its downtime: from the source's libvirt event "suspended
(migrated)" to the destination's "resumed (migrated)", the time the guest
ran nowhere — with libvirt's own figure (the completed job's downtime on
the destination) beside it. With SNAPSHOTS, that many snapshots are taken
over CIM while the guest runs, first: each move then uploads the qcow2
with its snapshots before libvirt's mirror. Guests run under TCG; figures
depend on the machine's load.

    python bench/kvm_migration.py [SIZE_MIB] [ROUNDS] [SNAPSHOTS]
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import libvirt
from pywbem import CIMInstanceName, Uint16

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "backends" / "kvm"))

import guest  # noqa: E402
from cimprovider.backends.libvirt.connection import ensure_event_loop  # noqa: E402
from qemu_host import libvirtd_lock, wait_for_console  # noqa: E402
from second_libvirtd import second_libvirtd  # noqa: E402
from tests.integration.migration.two_hosts import migrate  # noqa: E402
from tests.integration.model.hyperv import NS, settings_of  # noqa: E402
from tests.integration.storage.snapshots_client import take  # noqa: E402
from tests.support.live import in_process_server  # noqa: E402

SOURCE_URI = "qemu:///system"
TCP_PORT_FILE = Path("/run/cimprovider-tests/libvirtd-tcp.port")
MIB = 1024 * 1024


class Lifecycle:
    """When each connection reported the guest suspended or resumed by a migration."""

    def __init__(self) -> None:
        self.suspended: list[float] = []
        self.resumed: list[float] = []

    def __call__(self, conn, domain, event, detail, _opaque) -> None:  # noqa: ANN001 - libvirt's callback
        now = time.monotonic()
        if event == libvirt.VIR_DOMAIN_EVENT_SUSPENDED and detail == libvirt.VIR_DOMAIN_EVENT_SUSPENDED_MIGRATED:
            self.suspended.append(now)
        if event == libvirt.VIR_DOMAIN_EVENT_RESUMED and detail == libvirt.VIR_DOMAIN_EVENT_RESUMED_MIGRATED:
            self.resumed.append(now)


def move(conn, vm: CIMInstanceName, disk: str, target: Path, destination: str, lifecycle: Lifecycle,
         destination_uri: str, uuid: str) -> tuple[float, float, float]:
    sasd = next(s for s in settings_of(conn, "Msvm_StorageAllocationSettingData", vm) if s["HostResource"] == [disk])
    sasd["HostResource"] = [str(target)]
    lifecycle.suspended.clear()
    lifecycle.resumed.clear()
    started = time.monotonic()
    job = migrate(conn, vm, destination, timeout=600, resources=[sasd], MigrationType=Uint16(32771))
    took = time.monotonic() - started
    assert job["JobState"] == 7, job["ErrorDescription"]
    deadline = time.monotonic() + 30
    while not (lifecycle.suspended and lifecycle.resumed) and time.monotonic() < deadline:
        time.sleep(0.05)
    seen = max(lifecycle.resumed) - min(lifecycle.suspended) if lifecycle.suspended and lifecycle.resumed else float("nan")
    stats = libvirt.open(destination_uri).lookupByUUIDString(uuid).jobStats(libvirt.VIR_DOMAIN_JOB_STATS_COMPLETED)
    return took, seen, stats.get("downtime", float("nan")) / 1000


@dataclass(frozen=True)
class CountingGuest:
    """The tiny guest running on the suite's libvirtd, counting on its console."""

    base: Path
    roots: dict[str, Path]
    disk: Path
    name: str
    domain: libvirt.virDomain


@contextmanager
def counting_guest(tag: str, size_mib: int) -> Iterator[CountingGuest]:
    """A counting guest with a qcow2 disk holding size_mib MiB of data, under
    the tier 2 lock in a folder of its own with one storage root per host;
    destroyed and undefined on the suite's libvirtd afterwards (on the
    second one it went with its daemon)."""
    with libvirtd_lock(), tempfile.TemporaryDirectory(prefix="cimprovider-kvm-bench-") as base_text:
        base = Path(base_text)
        base.chmod(0o755)
        roots = {"hosta": base / "host-a", "hostb": base / "host-b"}
        for root in roots.values():
            root.mkdir(mode=0o755)
        disk = roots["hosta"] / "disk.qcow2"
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(disk), f"{max(2 * size_mib, 32)}M"], check=True)
        subprocess.run(["qemu-io", "-f", "qcow2", "-c", f"write -P 0x5a 0 {size_mib * MIB}", str(disk)], check=True, capture_output=True)
        initrd = guest.build_initrd(base)
        source = libvirt.open(SOURCE_URI)
        name = f"{tag}-guest"
        domain = source.defineXML(guest.domain_xml(name, base, initrd, disk=(disk, "qcow2"), console_append=True))
        try:
            domain.create()
            wait_for_console(base / f"{name}.console", r"guest: tick 3\b")
            yield CountingGuest(base, roots, disk, name, domain)
        finally:
            try:
                found = source.lookupByName(name)
                if found.isActive():
                    found.destroy()
                found.undefineFlags(libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE)
            except libvirt.libvirtError:
                pass


def main() -> None:
    size_mib = int(sys.argv[1]) if len(sys.argv) > 1 else 64
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    snapshots = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    ensure_event_loop()  # the one libvirt event loop of the process, the backends' too
    tag = f"cimp-bench-{os.getpid()}"
    results = []
    with counting_guest(tag, size_mib) as running:
        base, roots, disk, name, domain = running.base, running.roots, running.disk, running.name, running.domain
        with second_libvirtd(tag) as b_uri:
            uris = {"hosta": SOURCE_URI, "hostb": b_uri}
            lifecycle = Lifecycle()
            connections = {host: libvirt.open(uri) for host, uri in uris.items()}
            for conn in connections.values():
                conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, lifecycle, None)
            # No users file: each server signs nobody in and listens on
            # loopback only, so a destination is named by its URL alone.
            # The second daemon reaches the suite's over its loopback TCP
            # listener (qemu:///system there would be its own socket).
            reached = {"hosta": f"qemu+tcp://127.0.0.1:{TCP_PORT_FILE.read_text().strip()}/system", "hostb": b_uri}
            servers = {host: in_process_server(base / f"{host}-data", backend="libvirt", libvirt_uri=uri,
                                               libvirt_migration_uri=reached[host], libvirt_domain_type="qemu",
                                               storage_roots=[roots[host]], host_name=host)
                       for host, uri in uris.items()}
            with servers["hosta"] as a, servers["hostb"] as b:
                live = {"hosta": a, "hostb": b}
                vm = CIMInstanceName("Msvm_ComputerSystem", {"CreationClassName": "Msvm_ComputerSystem",
                                                              "Name": domain.UUIDString().upper()}, namespace=NS)
                for _ in range(snapshots):
                    take(a.connection(NS), vm)
                here, there, path = "hosta", "hostb", str(disk)
                for round_ in range(rounds):
                    target = roots[there] / f"disk-{round_}.qcow2"
                    conn = live[here].connection(NS)
                    results.append(move(conn, vm, path, target, live[there].url, lifecycle, uris[there],
                                        domain.UUIDString()))
                    here, there, path = there, here, str(target)
                ticks = guest_ticks(base / f"{name}.console")
                assert ticks == list(range(1, len(ticks) + 1)), "the guest restarted its count"
    print(f"tiny guest under TCG, qcow2 disk with {size_mib} MiB of data and {snapshots} snapshot(s), "
          f"{rounds} live moves between two libvirtd "
          f"on this machine (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")
    for took, seen, reported in results:
        print(f"  move {took:6.2f} s  downtime {seen * 1000:7.1f} ms (libvirt says {reported * 1000:7.1f} ms)")
    print(f"median move {statistics.median(r[0] for r in results):.2f} s, "
          f"median downtime {statistics.median(r[1] for r in results) * 1000:.1f} ms")


def guest_ticks(console: Path) -> list[int]:
    return [int(n) for n in re.findall(r"guest: tick (\d+)", console.read_bytes().decode(errors="replace"))]


if __name__ == "__main__":
    main()
