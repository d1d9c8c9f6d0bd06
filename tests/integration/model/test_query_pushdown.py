"""Queries for one VM build that VM's instances only: the model checks the
backend's VM list against the query's pushdown before rendering anything.
Counted on the renderer, so nothing here depends on timing."""

from __future__ import annotations

import pytest

from cimprovider.schemas.vm import SystemSettings
from tests.integration.model.hyperv import NS
from tests.support.live import in_process_server

VMS = 40
PER_VM_CLASSES = ("Msvm_VirtualSystemSettingData", "Msvm_MemorySettingData", "Msvm_ProcessorSettingData",
                  "Msvm_ResourceAllocationSettingData", "Msvm_SerialPortSettingData",
                  "Msvm_KvpExchangeComponentSettingData", "Msvm_ShutdownComponentSettingData")


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory):
    found: dict = {}
    with in_process_server(tmp_path_factory.mktemp("pushdown"),
                           extensions=[lambda reg, cat, parts: found.update(parts=parts)]) as live:
        virt = found["parts"].registry.instance_provider(NS, "Msvm_ComputerSystem").virt
        vms = [virt.backend.define_vm(SystemSettings(name=f"vm-{i:03}")) for i in range(VMS)]
        yield live.connection(NS), virt, vms


def settled(virt) -> None:
    """Forget every built instance, so that what a query builds shows in
    the renderer's count."""
    with virt._lock:
        virt._cache.clear()


def rendered_by(virt, run) -> tuple[list, int]:
    settled(virt)
    before = virt.renderer.rendered
    result = run()
    return result, virt.renderer.rendered - before


def test_computer_system_by_element_name_builds_one(model) -> None:
    conn, virt, vms = model
    found, built = rendered_by(virt, lambda: conn.ExecQuery("WQL", "SELECT * FROM Msvm_ComputerSystem WHERE ElementName = 'vm-007'"))
    assert [i["Name"] for i in found] == [str(vms[7].id).upper()]
    assert built == 1


def test_computer_system_by_name_builds_one(model) -> None:
    conn, virt, vms = model
    guid = str(vms[3].id).upper()
    found, built = rendered_by(virt, lambda: conn.ExecQuery("WQL", f"SELECT * FROM Msvm_ComputerSystem WHERE Name = '{guid}'"))
    assert [i["ElementName"] for i in found] == ["vm-003"] and built == 1


def test_host_by_name_is_found_without_vms(model) -> None:
    conn, virt, _ = model
    host = virt.host_name
    found, built = rendered_by(virt, lambda: conn.ExecQuery("WQL", f"SELECT * FROM Msvm_ComputerSystem WHERE ElementName = '{host}'"))
    assert [i["Caption"] for i in found] == ["Hosting Computer System"] and built == 1


def test_vssd_by_element_name_builds_one(model) -> None:
    conn, virt, vms = model
    query = "SELECT ElementName, Notes FROM Msvm_VirtualSystemSettingData WHERE ElementName = 'vm-011'"
    found, built = rendered_by(virt, lambda: conn.ExecQuery("WQL", query))
    assert [i["ElementName"] for i in found] == ["vm-011"] and built == 1


def test_unknown_element_name_builds_nothing(model) -> None:
    conn, virt, _ = model
    found, built = rendered_by(virt, lambda: conn.ExecQuery("WQL", "SELECT * FROM Msvm_ComputerSystem WHERE ElementName = 'absent'"))
    assert found == [] and built == 0


@pytest.mark.parametrize("classname", PER_VM_CLASSES)
def test_instance_id_prefix_builds_that_vms_settings_only(model, classname: str) -> None:
    conn, virt, vms = model
    guid = str(vms[5].id).upper()
    query = f"SELECT * FROM {classname} WHERE InstanceID LIKE 'Microsoft:{guid}%'"
    found, built = rendered_by(virt, lambda: conn.ExecQuery("WQL", query))
    assert found and all(i["InstanceID"].upper().startswith(f"MICROSOFT:{guid}") for i in found)
    # No other VM's settings and no templates were built.
    assert built == len(found)


def test_element_name_filter_still_answers_like_enumeration(model) -> None:
    conn, _, _ = model
    everything = {i["ElementName"] for i in conn.EnumerateInstances("Msvm_ComputerSystem")}
    assert len(everything) == VMS + 1
    assert len(conn.ExecQuery("WQL", "SELECT * FROM Msvm_ComputerSystem WHERE ElementName LIKE 'vm-01%'")) == 10
