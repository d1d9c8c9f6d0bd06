"""kill -9 during a long image job: after a restart on the same data
directory the job reads as failed (interrupted), and neither the
destination nor its partial file is left; the source is untouched."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pywbem
import pytest
from pywbem import CIMInstanceName

from tests.integration.model.hyperv import NS
from tests.integration.storage.vhd_client import image_service, vhdsd
from tests.support.waiting import DEADLINE
from tests.support.live import serve_process

MIB = 1024 * 1024
def serve(data_dir: Path):
    return serve_process("--port", "0", "--data-dir", str(data_dir))


def big_source(path: Path) -> None:
    """A dynamic VHD with 384 MiB of non-zero data: qemu-img needs about a
    second to convert it, long enough to be caught in the middle."""
    subprocess.run(
        ["qemu-img", "create", "-q", "-f", "vpc", "-o", "subformat=dynamic,force_size=on", str(path), str(1024 * MIB)],
        check=True,
    )
    subprocess.run(["qemu-io", "-f", "vpc", "-c", f"write -P 0x5a 0 {384 * MIB}", str(path)], check=True, capture_output=True)


def running_with_progress(conn: pywbem.WBEMConnection, job: CIMInstanceName, timeout: float = DEADLINE) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = conn.GetInstance(job, PropertyList=["JobState", "PercentComplete"])
        if found["JobState"] == 4 and 0 < found["PercentComplete"] < 100:
            return
        assert found["JobState"] in (2, 3, 4), f"the job ended before it could be killed: {found['JobState']}"
        time.sleep(0.01)
    raise AssertionError("the conversion never showed progress")


def test_kill_during_conversion_leaves_no_disk_and_a_failed_job(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    folder = data_dir / "storage" / "disks"
    folder.mkdir(parents=True)
    source, destination = folder / "source.vhd", folder / "converted.vhdx"
    big_source(source)

    with serve(data_dir) as first:
        conn = pywbem.WBEMConnection(first.url, default_namespace=NS, timeout=30)
        code, out = conn.InvokeMethod(
            "ConvertVirtualHardDisk", image_service(conn),
            SourcePath=str(source), VirtualDiskSettingData=vhdsd(destination, "dynamic", "vhdx", size=None),
        )  # fmt: skip
        assert int(code) == 4096
        job = out["Job"]
        running_with_progress(conn, job)
        assert [p.name for p in folder.iterdir() if p.name.endswith(".partial")], "no partial file while converting"
        first.stop(signal.SIGKILL)

    with serve(data_dir) as second:
        conn = pywbem.WBEMConnection(second.url, default_namespace=NS, timeout=30)
        found = conn.GetInstance(job)
        assert found.classname == "Msvm_StorageJob"
        assert (found["JobState"], found["ErrorCode"]) == (10, 32768)
        assert "interrupted" in found["ErrorDescription"] and "server was stopped" in found["ErrorDescription"]
        assert not found["Cancellable"]
        # the partial file went at start-up, and nothing took the destination's name
        assert sorted(p.name for p in folder.iterdir()) == ["source.vhd"]

    info = json.loads(subprocess.run(
        ["qemu-img", "info", "--output=json", "-f", "vpc", str(source)], check=True, capture_output=True, text=True,
    ).stdout)  # fmt: skip
    assert info["virtual-size"] == 1024 * MIB
    subprocess.run(["qemu-io", "-r", "-f", "vpc", "-c", f"read -P 0x5a 0 {384 * MIB}", str(source)], check=True, capture_output=True)
