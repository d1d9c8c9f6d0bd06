"""A reader may inspect disks (ValidateVirtualHardDisk and the Get
methods start jobs), but may not fill the job queue with inspections:
the job workers are shared with every admin's change. With the workers
busy, one principal's 17th waiting inspection is refused with
CIM_ERR_SERVER_LIMITS_EXCEEDED naming the user, another user's is not,
and once the queue drains the reader may inspect again."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import pywbem
from pywbem import CIM_ERR_SERVER_LIMITS_EXCEEDED

from cimprovider.http.auth import UsersFile
from tests.integration.model.hyperv import NS, define_vm, wait_job
from tests.integration.storage.vhd_client import create, image_service
from tests.support.live import in_process_server
from tests.support.recorder import recording_listener

ADMIN, READER, OTHER = ("ada", "ada-pw"), ("rex", "rex-pw"), ("rae", "rae-pw")
SHARE = 16


@pytest.fixture
def server(tmp_path: Path):
    users = tmp_path / "users.json"
    UsersFile(users).add(*ADMIN, "admin")
    UsersFile(users).add(*READER, "reader")
    UsersFile(users).add(*OTHER, "reader")
    root = tmp_path / "storage"
    with in_process_server(tmp_path / "data", users_file=users, storage_roots=[root], job_workers=1) as live:
        yield live, root


def validate(conn: pywbem.WBEMConnection, image: Path) -> pywbem.CIMInstanceName:
    code, out = conn.InvokeMethod("ValidateVirtualHardDisk", image_service(conn), Path=str(image))
    assert int(code) == 4096, code
    return out["Job"]


def test_one_principal_may_keep_only_its_share_of_inspections_waiting(server):
    live, root = server
    admin, reader, other = (live.connection(NS, creds=c) for c in (ADMIN, READER, OTHER))
    image = root / "inspected.vhd"
    create(admin, image)
    vm = define_vm(admin, "holds-the-worker")
    # The one job worker waits on a destination that never answers.
    with recording_listener(silent=True) as silent:
        code, out = admin.InvokeMethod(
            "MigrateVirtualSystemToHost", admin.EnumerateInstanceNames("Msvm_VirtualSystemMigrationService")[0],
            ComputerSystem=vm, DestinationHost=f"127.0.0.1:{silent.port}")
        assert int(code) == 4096
        deadline = time.monotonic() + 60
        while not silent.contacted:
            assert time.monotonic() < deadline, "the migration never reached its destination"
            time.sleep(0.05)
        queued = [validate(reader, image) for _ in range(SHARE)]
        with pytest.raises(pywbem.CIMError) as refused:
            validate(reader, image)
        assert refused.value.status_code == CIM_ERR_SERVER_LIMITS_EXCEEDED
        assert "user rex" in refused.value.status_description
        queued.append(validate(other, image))  # another user's share is whole
    wait_job(admin, out["Job"], 120)
    for job in queued:
        assert wait_job(admin, job, 120)["JobState"] == 7
    assert wait_job(admin, validate(reader, image), 120)["JobState"] == 7
