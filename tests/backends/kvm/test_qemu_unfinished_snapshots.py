"""Tier 2: a snapshot cut short by kill -9 of the server, on real libvirt.

libvirtd, not the server, makes a snapshot, so what a killed server leaves
is whatever libvirtd had made: an overlay beside the VM's disk and a
guest's memory file with no snapshot recorded, a VM moved onto such an
overlay, or (libvirtd finishing after the job was judged) a whole snapshot
whose job reads failed. The restarted server removes each and leaves the
VM on the disk it ran on, with its content. The server is killed (SIGKILL) and its
instant fixed as in tests/integration/storage/test_interrupted_jobs.py: the
job records are written as a kill at that instant leaves them."""

from __future__ import annotations

import re
import signal
import subprocess
import uuid
from pathlib import Path

import libvirt
import pywbem

from cimprovider.backends.libvirt.snapshot_xml import overlay_path
from qemu_host import URI, Host, host, libvirtd_in_use, shared_host  # noqa: F401 (fixtures)
from test_qemu_snapshots import qemu_io, vm_on
from tests.integration.storage.snapshots_client import take_with_job
from tests.integration.storage.test_interrupted_jobs import job_id, reopened, running_copy
from tests.integration.storage.vm_client import disk_paths, vm_with_disk
from tests.support.live import serve_process

NS = "root/virtualization/v2"
COMPLETED, EXCEPTION = 7, 10


def raw_disk(host: Host, name: str) -> Path:
    disk = host.workdir / name
    subprocess.run(["qemu-img", "create", "-q", "-f", "raw", str(disk), "16M"], check=True)
    qemu_io(disk, "raw", "write -P 0x0a 0 1M")
    return disk


def test_what_a_cut_short_snapshot_left_is_gone_after_the_restart(host: Host, tmp_path: Path) -> None:
    disk = raw_disk(host, "cut.img")
    data = tmp_path / "data"
    args = ("--port", "0", "--data-dir", str(data), "--backend", "libvirt", "--libvirt-uri", URI,
            "--libvirt-domain-type", "qemu", "--storage-root", str(host.workdir))
    name = f"{host.tag}-cut"
    host.domains.append(name)
    with serve_process(*args) as served:
        conn = pywbem.WBEMConnection(served.url, default_namespace=NS, timeout=30)
        vm = vm_with_disk(conn, name, disk)
        _, finished = take_with_job(conn, vm)
        running_on = disk_paths(conn, vm)[0]  # the overlay the snapshot moved the VM onto
        assert served.stop(signal.SIGKILL) == -signal.SIGKILL

    lost = uuid.uuid4()
    reopened(data / "jobs.sqlite3", job_id(finished))  # killed after libvirt made it: reads completed
    cut = running_copy(data / "jobs.sqlite3", job_id(finished), affected=f"{uuid.UUID(vm['Name'])},{lost}")
    overlay = Path(overlay_path(running_on, str(lost)[:8]))
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", running_on, "-F", "qcow2", str(overlay)], check=True)
    memory = data / "snapshot-memory" / f"{uuid.UUID(vm['Name'])}-{lost}.save"
    memory.parent.mkdir(exist_ok=True)
    memory.write_bytes(b"a guest's memory, half written")

    with serve_process(*args) as served:
        conn = pywbem.WBEMConnection(served.url, default_namespace=NS, timeout=30)
        jobs = {j["InstanceID"].lower(): j for j in conn.EnumerateInstances("Msvm_ConcreteJob")}
        assert (jobs[cut]["JobState"], jobs[cut]["ErrorCode"]) == (EXCEPTION, 32768)
        assert "interrupted" in jobs[cut]["ErrorDescription"]
        assert (jobs[job_id(finished)]["JobState"], jobs[job_id(finished)]["ErrorCode"]) == (COMPLETED, 0)
        assert not overlay.exists() and not memory.exists()
        assert disk_paths(conn, vm) == [running_on]
        assert len(conn.Associators(vm, AssocClass="Msvm_SnapshotOfVirtualSystem")) == 1
        assert served.stop() == 0


def test_a_vm_moved_onto_an_overlay_without_a_snapshot_goes_back_onto_its_disk(host: Host) -> None:
    disk = raw_disk(host, "moved.img")
    vm = vm_on(host, disk, "moved")
    lost = uuid.uuid4()
    overlay = overlay_path(str(disk), str(lost)[:8])
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", str(disk), "-F", "raw", overlay], check=True)
    qemu_io(Path(overlay), "qcow2", "write -P 0x77 2M 1M")  # written after the move: kept
    domain = host.conn.lookupByUUID(vm.id.bytes)
    xml = domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
    xml = re.sub(r"<source file='[^']*'", f"<source file='{overlay}'", xml, count=1)
    host.conn.defineXML(re.sub(r"(<driver name='qemu' type=)'[a-z0-9]+'", r"\1'qcow2'", xml, count=1))
    assert host.backend.get_vm(vm.id).drives[0].media.path == overlay  # type: ignore[union-attr]

    assert host.backend.discard_unfinished_snapshot(vm.id, lost) == [overlay]
    assert host.backend.get_vm(vm.id).drives[0].media.path == str(disk)  # type: ignore[union-attr]
    assert not Path(overlay).exists()
    qemu_io(disk, "raw", "read -P 0x0a 0 1M")
    qemu_io(disk, "raw", "read -P 0x77 2M 1M")


def test_a_snapshot_libvirt_finished_after_its_job_failed_is_destroyed(host: Host) -> None:
    disk = raw_disk(host, "late.img")
    vm = vm_on(host, disk, "late")
    late = host.backend.create_snapshot(vm.id, "finished late")
    assert host.backend.get_vm(vm.id).drives[0].media.path != str(disk)  # type: ignore[union-attr]

    assert host.backend.discard_unfinished_snapshot(vm.id, late.id) == [str(late.id)]
    assert host.backend.list_snapshots(vm.id) == []
    assert host.backend.get_vm(vm.id).drives[0].media.path == str(disk)  # type: ignore[union-attr]
    assert [p.name for p in host.workdir.iterdir() if "-snap-" in p.name and p.name.startswith("late")] == []
