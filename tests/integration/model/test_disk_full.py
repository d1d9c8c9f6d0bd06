"""The data directory's disk fills up under a running server (a small
tmpfs, filled to the last byte): requests that must write answer that the
disk is full, naming the file, rather than an internal error; a power
change whose job cannot be recorded leaves the VM as it was, not Starting;
and once space is freed everything works again."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from pywbem import CIM_ERR_FAILED, CIMError, CIMInstance, Uint16

from tests.integration.model.hyperv import NS, define_vm, request_state, service, state
from tests.support.live import in_process_server, said

OFF, RUNNING = 3, 2


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 24 MiB tmpfs of our own (the test runs as root, as CI does)."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m,mode=0700", "tmpfs", str(mount_point)], check=True)
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=True)


def fill(disk: Path) -> Path:
    """Write a file until the disk refuses another byte."""
    filler = disk / "filler"
    block = b"\0" * 65536
    with open(filler, "wb", buffering=0) as out:
        try:
            while True:
                out.write(block)
        except OSError as error:
            assert error.errno == errno.ENOSPC
        try:
            while True:
                out.write(b"\0")
        except OSError as error:
            assert error.errno == errno.ENOSPC
    return filler


def test_full_disk_is_said_and_a_refused_power_change_leaves_the_vm_free(small_disk):
    data_dir = small_disk / "data"
    with in_process_server(data_dir) as live:
        conn = live.connection(NS)
        vm = define_vm(conn, "on-a-full-disk")
        filler = fill(small_disk)

        with pytest.raises(CIMError) as started:
            conn.InvokeMethod("RequestStateChange", vm, RequestedState=Uint16(RUNNING))
        assert started.value.status_code == CIM_ERR_FAILED
        assert "the data directory's disk is full" in started.value.status_description
        assert str(data_dir / "jobs.sqlite3") in started.value.status_description
        assert "internal error" not in started.value.status_description
        assert state(conn, vm) == OFF  # not Starting
        assert conn.GetInstance(vm)["RequestedState"] != 2

        vssd = CIMInstance("Msvm_VirtualSystemSettingData", properties={"ElementName": "one-more"})
        with pytest.raises(CIMError) as defined:
            conn.InvokeMethod("DefineSystem", service(conn), SystemSettings=vssd.tocimxmlstr(), ResourceSettings=[])
        assert defined.value.status_code == CIM_ERR_FAILED
        assert "disk is full" in defined.value.status_description
        assert "internal error" not in defined.value.status_description
        assert [cs["ElementName"] for cs in conn.EnumerateInstances("Msvm_ComputerSystem") if cs["Caption"] == "Virtual Machine"] == ["on-a-full-disk"]

        os.unlink(filler)
        code, job = request_state(conn, vm, RUNNING)
        assert code == 4096 and job["JobState"] == 7, job["ErrorDescription"]
        assert state(conn, vm) == RUNNING


def test_a_server_started_on_a_full_disk_says_so_in_one_line(small_disk):
    data_dir = small_disk / "data"
    with in_process_server(data_dir):
        pass  # a data directory with every store in it
    filler = fill(small_disk)
    result = subprocess.run(
        [sys.executable, "-m", "cimprovider.cli", "serve", "--port", "0", "--data-dir", str(data_dir)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    lines = said(result.stderr)
    assert result.returncode == 1, result.stderr
    assert len(lines) == 1 and "disk is full" in lines[0] and str(data_dir) in lines[0], result.stderr
    os.unlink(filler)
