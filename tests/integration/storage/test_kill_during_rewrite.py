"""kill -9 while a disk is compacted or merged, as a service restart cuts
a Hyper-V job short: after the restart the job reads failed, with an
ErrorDescription that says the server was stopped, and the disk is whole.
Compaction writes a new file and renames it over the original, so the
original is untouched and no half-written copy stays; a merge copies into
the parent only what the child still covers, so the chain through the
child reads the same and the merge can simply be run again."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pywbem
from pywbem import Uint16

from cimprovider.backends.images import StorageRoots, VhdChain
from tests.backends.test_snapshots import write
from tests.integration.model.hyperv import NS
from tests.integration.storage.test_kill_during_job import running_with_progress
from tests.integration.storage.vhd_client import MIB, create, image_service, succeed
from tests.support.live import serve_process

DATA = 256 * MIB


def serve(data_dir: Path):
    return serve_process("--port", "0", "--data-dir", str(data_dir))


def start(conn: pywbem.WBEMConnection, method: str, **params: object) -> pywbem.CIMInstanceName:
    code, out = conn.InvokeMethod(method, image_service(conn), **params)
    assert int(code) == 4096
    return out["Job"]


def reads(path: Path, pattern: int, length: int = DATA, fmt: str = "vpc") -> None:
    subprocess.run(["qemu-io", "-r", "-f", fmt, "-c", f"read -P {pattern:#x} 0 {length}", str(path)], check=True, capture_output=True)


def interrupted(conn: pywbem.WBEMConnection, job: pywbem.CIMInstanceName) -> None:
    found = conn.GetInstance(job)
    assert (found.classname, found["JobState"], found["ErrorCode"]) == ("Msvm_StorageJob", 10, 32768)
    assert "interrupted" in found["ErrorDescription"] and "server was stopped" in found["ErrorDescription"]


def test_kill_during_compaction_leaves_the_disk_whole(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    folder = data_dir / "storage" / "disks"
    folder.mkdir(parents=True)
    disk = folder / "sparse.vhd"
    subprocess.run(["qemu-img", "create", "-q", "-f", "vpc", "-o", "subformat=dynamic,force_size=on", str(disk), str(1024 * MIB)], check=True)
    # data, then blocks of zeros compaction drops
    subprocess.run(["qemu-io", "-f", "vpc", "-c", f"write -P 0x5a 0 {DATA}", "-c", f"write -P 0 {DATA} {DATA}", str(disk)],
                   check=True, capture_output=True)  # fmt: skip
    before = disk.stat().st_size

    with serve(data_dir) as first:
        conn = pywbem.WBEMConnection(first.url, default_namespace=NS, timeout=30)
        job = start(conn, "CompactVirtualHardDisk", Path=str(disk), Mode=Uint16(0))
        running_with_progress(conn, job)
        first.stop(signal.SIGKILL)

    with serve(data_dir) as second:
        conn = pywbem.WBEMConnection(second.url, default_namespace=NS, timeout=30)
        interrupted(conn, job)
        assert sorted(p.name for p in folder.iterdir()) == ["sparse.vhd"]  # the half-written copy went
        assert disk.stat().st_size == before  # the original, as it was
        reads(disk, 0x5a)
        succeed(conn, "CompactVirtualHardDisk", Path=str(disk), Mode=Uint16(0))  # and it compacts once asked again
        assert disk.stat().st_size < before
        reads(disk, 0x5a)


def test_kill_during_a_merge_leaves_the_chain_reading_the_same(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    folder = data_dir / "storage" / "disks"
    folder.mkdir(parents=True)
    base, child = folder / "base.vhd", folder / "child.vhd"
    subprocess.run(["qemu-img", "create", "-q", "-f", "vpc", "-o", "subformat=dynamic,force_size=on", str(base), str(1024 * MIB)], check=True)
    subprocess.run(["qemu-io", "-f", "vpc", "-c", f"write -P 0x5a 0 {DATA}", str(base)], check=True, capture_output=True)

    with serve(data_dir) as first:
        conn = pywbem.WBEMConnection(first.url, default_namespace=NS, timeout=30)
        create(conn, child, "differencing", size=None, ParentPath=str(base))
        for offset in range(0, DATA, 16 * MIB):
            write(child, offset, 0x6b, 16 * MIB)
        job = start(conn, "MergeVirtualHardDisk", SourcePath=str(child), DestinationPath=str(base))
        running_with_progress(conn, job)
        first.stop(signal.SIGKILL)

    with serve(data_dir) as second:
        conn = pywbem.WBEMConnection(second.url, default_namespace=NS, timeout=30)
        interrupted(conn, job)
        assert child.exists() and base.exists()
        assert sorted(p.name for p in folder.iterdir()) == ["base.vhd", "child.vhd"]
        head = b"".join(_chain_read(child, offset) for offset in range(0, DATA, 64 * MIB))
        assert head == bytes([0x6b]) * len(head)  # what the child's readers see, unchanged
        succeed(conn, "MergeVirtualHardDisk", SourcePath=str(child), DestinationPath=str(base))
        assert not child.exists()
        reads(base, 0x6b)


def _chain_read(path: Path, offset: int) -> bytes:
    with VhdChain.open(path, StorageRoots([path.parent])) as chain:
        return chain.read(offset, MIB)
