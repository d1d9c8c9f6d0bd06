"""A conversion is cancellable as on Hyper-V: RequestStateChange(4) on its
storage job ends it Terminated, and the half-written copy is gone."""

from __future__ import annotations

import subprocess
from pathlib import Path

from pywbem import Uint16

from tests.integration.model.hyperv import wait_job
from tests.integration.storage.test_kill_during_job import big_source, running_with_progress
from tests.integration.storage.vhd_client import image_service, vhdsd
from tests.support.waiting import wait_until


def test_cancelling_a_conversion_terminates_it_and_removes_the_copy(conn, root: Path) -> None:
    source, destination = root / "source.vhd", root / "copy.vhdx"
    big_source(source)
    code, out = conn.InvokeMethod(
        "ConvertVirtualHardDisk", image_service(conn),
        SourcePath=str(source), VirtualDiskSettingData=vhdsd(destination, "dynamic", "vhdx", size=None),
    )  # fmt: skip
    assert int(code) == 4096
    job = out["Job"]
    assert conn.GetInstance(job)["Cancellable"] is True
    running_with_progress(conn, job)

    code, _ = conn.InvokeMethod("RequestStateChange", job, RequestedState=Uint16(4))
    assert int(code) == 0
    ended = wait_job(conn, job)
    assert ended["JobState"] == 8  # Terminated
    assert not ended["Cancellable"]
    wait_until(lambda: sorted(p.name for p in root.iterdir()) == ["source.vhd"], "the storage folder back to the source alone")
    subprocess.run(["qemu-img", "info", "-f", "vpc", str(source)], check=True, capture_output=True)
