"""ImportSystemDefinition answers as Hyper-V does: 4096 and a job, with
ImportedSystem already set — the planned system exists when the method
returns, before the job is read."""

from __future__ import annotations

from pathlib import Path

from tests.integration.model.hyperv import service, wait_job
from tests.integration.storage.transfer_client import definition_file, export
from tests.integration.storage.vhd_client import MIB, create
from tests.integration.storage.vm_client import vm_with_disk


def test_import_is_a_job_whose_planned_system_exists_at_once(conn, root: Path) -> None:
    create(conn, root / "j.vhd", "dynamic", size=4 * MIB)
    vm = vm_with_disk(conn, "jobbed", root / "j.vhd")
    export(conn, vm, root, CopySnapshotConfiguration=1)
    code, out = conn.InvokeMethod("ImportSystemDefinition", service(conn), SystemDefinitionFile=str(definition_file(root / "jobbed")),
                                  SnapshotFolder=None, GenerateNewSystemIdentifier=True)
    assert code == 4096 and out["Job"] is not None
    planned = out["ImportedSystem"]
    planned.namespace = conn.default_namespace
    assert conn.GetInstance(planned)["ElementName"] == "jobbed"
    job = wait_job(conn, out["Job"])
    assert (job["JobState"], job["ErrorCode"]) == (7, 0)
