"""CheckVirtualSystemIsMigratableToHost and CheckVirtualSystemIsMigratable
between real servers: IsMigratable, and a failed job carrying every
reason (ErrorDescription; one Msvm_Error each from GetErrorEx) — not
enough memory, a VM with the same ID, a missing switch, a disk outside
the destination's storage roots, a libvirt destination for a simulated
VM, credentials the destination refuses."""

from __future__ import annotations

import re
import shutil
import uuid

import pytest
from pywbem import CIMInstance

from cimprovider.backends.simulated.store import SimulatedStore
from cimprovider.schemas.host import VirtualSwitch
from tests.integration.migration.two_hosts import destination_host, migration_service, migration_setting, source_host
from tests.integration.model.hyperv import check, request_state, service, settings_of, template, wait_job
from tests.integration.storage.transfer_client import definition_file, export, import_planned, realize
from tests.integration.storage.vhd_client import create
from tests.integration.storage.vm_client import vm_with_disk, wmi_path
from tests.support.live import in_process_server

LAB_SWITCH = uuid.UUID("5a1e0000-0000-4000-8000-00000000000a")


@pytest.fixture(scope="module")
def hosts(tmp_path_factory: pytest.TempPathFactory):
    base = tmp_path_factory.mktemp("checks")
    # The source has a switch the destination lacks.
    (base / "a-data").mkdir()
    store = SimulatedStore(base / "a-data" / "simulated.sqlite3")
    with store.transaction() as db:
        store.put_switch(db, str(LAB_SWITCH), VirtualSwitch(id=LAB_SWITCH, name="Lab Switch").model_dump_json())
    store.close()
    with in_process_server(base / "kvm-data", backend="libvirt", libvirt_uri="test:///default") as kvm:
        with destination_host(base) as b:
            wrong = {"hostb-wrong": (b.live.url, ("migrator", "not-the-password"))}
            with source_host(base, b.live.url, more_peers=wrong) as a:
                yield a, b, kvm


def check_to_host(conn, vm, destination: str, method: str = "CheckVirtualSystemIsMigratableToHost", resources=()):
    """(IsMigratable, the finished job, its path). IsMigratable is read from
    the reply itself: pywbem 1.x turns a boolean output parameter's FALSE
    into True."""
    conn.debug = True
    placed = {"NewResourceSettingData": [r.tocimxmlstr() for r in resources]} if resources else {}
    code, out = conn.InvokeMethod(method, migration_service(conn), ComputerSystem=vm, DestinationHost=destination,
                                  MigrationSettingData=migration_setting(conn).tocimxmlstr(), **placed)
    assert int(code) == 4096
    reply = conn.last_raw_reply.decode()
    found = re.search(r'<PARAMVALUE NAME="IsMigratable" PARAMTYPE="boolean"><VALUE>(TRUE|FALSE)</VALUE>', reply)
    assert found, reply
    return found.group(1) == "TRUE", wait_job(conn, out["Job"]), out["Job"]


def connect_to_lab_switch(conn, vm) -> None:
    port_id = str(uuid.uuid4())
    nic = template(conn, "Msvm_SyntheticEthernetPortSettingData")
    nic["ElementName"] = port_id
    out = check(conn, conn.InvokeMethod("AddResourceSettings", service(conn), AffectedConfiguration=vm, ResourceSettings=[nic.tocimxmlstr()]))
    switch = next(s for s in conn.EnumerateInstanceNames("Msvm_VirtualEthernetSwitch") if s["Name"].lower() == str(LAB_SWITCH))
    connection = template(conn, "Msvm_EthernetPortAllocationSettingData")
    connection["HostResource"] = [wmi_path(switch)]
    connection["Parent"] = wmi_path(out["ResultingResourceSettings"][0])
    check(conn, conn.InvokeMethod("AddResourceSettings", service(conn), AffectedConfiguration=vm, ResourceSettings=[connection.tocimxmlstr()]))


def test_a_movable_vm_is_migratable(hosts):
    a, b, _ = hosts
    vm = vm_with_disk(a.conn, "fine", make_disk(a, "fine"))
    sasd = next(d for d in settings_of(a.conn, "Msvm_StorageAllocationSettingData", vm))
    sasd["HostResource"] = [str(b.root / "fine.vhd")]
    for method in ("CheckVirtualSystemIsMigratable", "CheckVirtualSystemIsMigratableToHost"):
        migratable, job, _ = check_to_host(a.conn, vm, "hostb", method, resources=[sasd])
        assert migratable is True and job["JobState"] == 7 and job.classname == "Msvm_MigrationJob", job["ErrorDescription"]
    assert not (b.root / "fine.vhd").exists(), "a check wrote on the destination"
    # Without the placed disk it keeps its path, outside the destination's roots: not migratable, by either method.
    for method in ("CheckVirtualSystemIsMigratable", "CheckVirtualSystemIsMigratableToHost"):
        migratable, job, _ = check_to_host(a.conn, vm, "hostb", method)
        assert migratable is False and job["JobState"] == 10
        assert "storage roots" in job["ErrorDescription"], job["ErrorDescription"]


def make_disk(host, name: str):
    image = host.root / name / f"{name}.vhd"
    image.parent.mkdir(parents=True)
    create(host.conn, image)
    return image


def test_every_reason_is_reported_each_as_an_error(hosts):
    a, b, _ = hosts
    image = make_disk(a, "blocked")
    vm = vm_with_disk(a.conn, "blocked", image)
    # the same VM (same ID) already lives on the destination: exported, carried, imported as it is
    export(a.conn, vm, a.root / "export")
    shutil.copytree(a.root / "export", b.root / "import")
    realize(b.conn, import_planned(b.conn, definition_file(next((b.root / "import").iterdir())), new_id=False))
    connect_to_lab_switch(a.conn, vm)
    memory = settings_of(a.conn, "Msvm_MemorySettingData", vm)[0]
    memory["VirtualQuantity"] = str(12 * 1024 * 1024)  # 12 TiB (the most a VM may have): more than a test machine has
    check(a.conn, a.conn.InvokeMethod("ModifyResourceSettings", service(a.conn), ResourceSettings=[memory.tocimxmlstr()]))
    assert request_state(a.conn, vm, 2)[0] == 4096
    migratable, job, job_path = check_to_host(a.conn, vm, "hostb")
    assert migratable is False
    assert job["JobState"] == 10
    text = job["ErrorDescription"]
    assert "not enough memory" in text
    assert "already exists on the destination" in text
    assert str(LAB_SWITCH) in text and "does not exist on the destination" in text
    assert str(image) in text and "storage roots" in text
    code, out = a.conn.InvokeMethod("GetErrorEx", job_path)
    assert code == 0
    errors = out["Errors"]
    assert len(errors) == 4, errors
    messages = sorted(e["Message"] if isinstance(e, CIMInstance) else e for e in errors)
    assert sum("not enough memory" in m for m in messages) == 1, messages
    assert sum("already exists" in m for m in messages) == 1, messages
    # nothing moved, nothing was left on the destination
    assert request_state(a.conn, vm, 3)[0] == 4096


def test_a_libvirt_destination_is_refused_with_the_reason(hosts):
    a, _, kvm = hosts
    vm = vm_with_disk(a.conn, "to-kvm", make_disk(a, "to-kvm"))
    migratable, job, _ = check_to_host(a.conn, vm, f"127.0.0.1:{kvm.port}")
    assert migratable is False
    assert "simulated host and the destination is a libvirt host" in job["ErrorDescription"]


def test_credentials_the_destination_refuses_are_reported(hosts):
    a, _, _ = hosts
    vm = vm_with_disk(a.conn, "bad-creds", make_disk(a, "bad-creds"))
    migratable, job, _ = check_to_host(a.conn, vm, "hostb-wrong")
    assert migratable is False
    assert "401" in job["ErrorDescription"] or "uthenticat" in job["ErrorDescription"], job["ErrorDescription"]
