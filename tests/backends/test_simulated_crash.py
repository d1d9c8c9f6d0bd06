"""The simulated backend killed with SIGKILL in the middle of writing leaves a
database that opens, passes SQLite's integrity check and holds only whole
changes."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from cimprovider.backends.simulated import SimulatedBackend
from cimprovider.schemas import NetworkAdapter, ServerConfig
from tests.support.waiting import DEADLINE

WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from cimprovider.backends.simulated import SimulatedBackend
    from cimprovider.schemas import (
        Controller, ControllerType, Drive, KvpItem, Media, NetworkAdapter, ServerConfig, SystemSettings,
    )

    backend = SimulatedBackend(ServerConfig(data_dir=Path(sys.argv[1]), transition_seconds=0))
    storage = Path(sys.argv[1]) / "storage"
    storage.mkdir(exist_ok=True)
    for slot in range(3):
        (storage / f"d{slot}.vhdx").write_bytes(bytes(4096))
    number = 0
    while True:
        vm = backend.define_vm(SystemSettings(name=f"crash-{number}"))
        scsi = backend.add_device(vm.id, Controller(controller_type=ControllerType.SCSI))
        for slot in range(3):
            backend.add_device(vm.id, Drive(controller_id=scsi.id, slot=slot, media=Media(path=str(storage / f"d{slot}.vhdx"))))
            backend.add_device(vm.id, NetworkAdapter())
        backend.add_kvp_items(vm.id, [KvpItem(name="n", data=str(number))])
        backend.modify_vm(vm.id, vm.settings.replace(notes="complete"))
        print(vm.id, flush=True)  # after its last commit
        number += 1
    """
)


@pytest.mark.slow
@pytest.mark.parametrize("finished_before_kill", [1, 10, 40])
def test_kill_9_mid_write_leaves_a_consistent_database(tmp_path: Path, finished_before_kill: int) -> None:
    data_dir = tmp_path / "data"
    child = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(data_dir)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    # Once the writer has finished so many VMs it is in the middle of the
    # next one: kill it there without warning. Counting its reports, not the
    # clock, puts the kill at the same depth on a busy machine and an idle one.
    reported = [child.stdout.readline() for _ in range(finished_before_kill)] if child.stdout else []
    assert all(reported), child.stderr.read() if child.stderr else "the writer stopped reporting"
    os.kill(child.pid, signal.SIGKILL)
    output, _ = child.communicate(timeout=DEADLINE)
    assert child.returncode == -signal.SIGKILL
    finished = {line.strip() for line in [*reported, *output.splitlines()] if line.strip()}

    database = ServerConfig(data_dir=data_dir).database_path
    with sqlite3.connect(database) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)

    backend = SimulatedBackend(ServerConfig(data_dir=data_dir, transition_seconds=0))
    try:
        vms = {str(vm.id): vm for vm in backend.list_vms()}
        # Every VM the writer reported finished is there, whole.
        assert finished <= set(vms)
        for vm_id in finished:
            vm = vms[vm_id]
            assert vm.notes == ("complete",)
            assert len(vm.drives) == 3 and len(vm.network_adapters) == 3 and len(vm.kvp_items) == 1
        # MAC addresses were never handed out twice, and the counter moved
        # past every one that was committed.
        macs = [nic.mac_address for vm in vms.values() for nic in vm.network_adapters]
        assert len(macs) == len(set(macs))
        fresh = backend.add_device(next(iter(vms.values())).id, NetworkAdapter())
        assert fresh.mac_address not in macs  # type: ignore[union-attr]
    finally:
        backend.close()
