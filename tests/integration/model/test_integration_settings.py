"""Integration components as Hyper-V configures them, over pywbem: one
setting per component and VM (Msvm_*ComponentSettingData, present whatever
the VM's state), turned on and off with ModifyResourceSettings, and the
host's KVP items read back from Msvm_KvpExchangeComponentSettingData."""

from __future__ import annotations

import pytest
from pywbem import CIMInstance, Uint16

from cimprovider.schemas.integration import KVP_ITEMS_PER_VM
from tests.support.waiting import wait_until
from tests.integration.model.hyperv import check, define_vm, request_state, service, state, wait_job

KVP_GUID = "2A34B1C2-FD73-4043-8A5B-DD2159BC743F"
COMPONENTS = {
    "Msvm_ShutdownComponentSettingData": ("9F8233AC-BE49-4C79-8EE3-E7E1985B2077", "Shutdown"),
    "Msvm_HeartbeatComponentSettingData": ("84EAAE65-2F2E-45F5-9BB5-0E857DC8EB47", "Heartbeat"),
    "Msvm_TimeSyncComponentSettingData": ("2497F4DE-E9FA-4204-80E4-4B75C46419C0", "Time Synchronization"),
    "Msvm_VssComponentSettingData": ("5CED1297-4598-4915-A5FC-AD21BB4D02A4", "VSS"),
    "Msvm_KvpExchangeComponentSettingData": (KVP_GUID, "Key-Value Pair Exchange"),
}


def vssd_of(conn, vm):
    return conn.Associators(vm, AssocClass="Msvm_SettingsDefineState", ResultClass="Msvm_VirtualSystemSettingData")[0]


def kvp_setting(conn, vm) -> CIMInstance:
    """A script's way: the KVP setting among the VSSD's components."""
    found = conn.Associators(vssd_of(conn, vm).path, AssocClass="Msvm_VirtualSystemSettingDataComponent",
                             ResultClass="Msvm_KvpExchangeComponentSettingData")
    assert len(found) == 1
    return found[0]


def items(setting: CIMInstance, prop: str) -> dict[str, tuple[str, int]]:
    return {i["Name"]: (i["Data"], int(i["Source"])) for i in setting[prop] or []}


def kvp_call(conn, method: str, vm, *items_: CIMInstance) -> None:
    check(conn, conn.InvokeMethod(method, service(conn), TargetSystem=vm, DataItems=[i.tocimxmlstr() for i in items_]))


def item(name: str, data: str, source: int) -> CIMInstance:
    return CIMInstance("Msvm_KvpExchangeDataItem", properties={"Name": name, "Data": data, "Source": Uint16(source)})


def modify_enabled(conn, setting: CIMInstance, enabled_state: int) -> tuple[int, dict]:
    setting = setting.copy()
    setting["EnabledState"] = Uint16(enabled_state)
    code, out = conn.InvokeMethod("ModifyResourceSettings", service(conn), ResourceSettings=[setting.tocimxmlstr()])
    return int(code), out


@pytest.mark.parametrize("classname", sorted(COMPONENTS))
def test_one_setting_per_component_and_vm_as_hyper_v_shows_it(conn, classname: str) -> None:
    vm = define_vm(conn, f"ic-{classname}")
    guid, name = COMPONENTS[classname]
    query = f"SELECT * FROM {classname} WHERE InstanceID LIKE 'Microsoft:{vm['Name']}%'"
    found = conn.ExecQuery("WQL", query)
    assert len(found) == 1
    setting = found[0]
    assert setting["InstanceID"] == f"Microsoft:{vm['Name']}\\{guid}"
    assert setting["ResourceType"] == 1 and setting["OtherResourceType"] == f"Microsoft:Hyper-V:{name} Component"
    assert setting["ElementName"] == name and setting["EnabledState"] == 2
    # Also through the VSSD, and in the polymorphic query clients use for every setting.
    parts = conn.AssociatorNames(vssd_of(conn, vm).path, AssocClass="Msvm_VirtualSystemSettingDataComponent", ResultClass=classname)
    assert [p["InstanceID"] for p in parts] == [setting["InstanceID"]]
    every = conn.ExecQuery("WQL", f"SELECT * FROM CIM_ResourceAllocationSettingData WHERE InstanceID LIKE 'Microsoft:{vm['Name']}%'")
    assert setting["InstanceID"] in {i["InstanceID"] for i in every}
    assert conn.GetInstance(setting.path)["InstanceID"] == setting["InstanceID"]


def test_host_kvp_items_read_back_after_add_modify_remove(conn) -> None:
    vm = define_vm(conn, "kvp-host-items")
    assert kvp_setting(conn, vm)["HostExchangeItems"] in (None, [])
    kvp_call(conn, "AddKvpItems", vm, item("role", "web", 0), item("owner", "ops", 4))
    setting = kvp_setting(conn, vm)
    assert items(setting, "HostExchangeItems") == {"role": ("web", 0)}
    assert items(setting, "HostOnlyItems") == {"owner": ("ops", 4)}
    kvp_call(conn, "ModifyKvpItems", vm, item("role", "db", 0))
    assert items(kvp_setting(conn, vm), "HostExchangeItems") == {"role": ("db", 0)}
    kvp_call(conn, "RemoveKvpItems", vm, item("role", "", 0))
    setting = kvp_setting(conn, vm)
    assert items(setting, "HostExchangeItems") == {} and items(setting, "HostOnlyItems") == {"owner": ("ops", 4)}
    # The query form a script uses finds the same.
    query = f"SELECT * FROM Msvm_KvpExchangeComponentSettingData WHERE InstanceID LIKE 'Microsoft:{vm['Name']}%'"
    assert items(conn.ExecQuery("WQL", query)[0], "HostOnlyItems") == {"owner": ("ops", 4)}


def test_a_vm_keeps_a_bounded_number_of_host_items(conn) -> None:
    vm = define_vm(conn, "kvp-bounded")
    for call in range(KVP_ITEMS_PER_VM // 128):
        kvp_call(conn, "AddKvpItems", vm, *(item(f"key-{call}-{n}", "x", 0) for n in range(128)))
    answer = conn.InvokeMethod("AddKvpItems", service(conn), TargetSystem=vm,
                               DataItems=[item(name, "y", 0).tocimxmlstr() for name in ("one-more", "and-another")])
    assert answer[0] == 4096
    job = wait_job(conn, answer[1]["Job"])
    assert job["JobState"] == 10 and job["ErrorCode"] == 32773
    assert f"keeps at most {KVP_ITEMS_PER_VM} KVP items and has {KVP_ITEMS_PER_VM}" in job["ErrorDescription"]
    kept = items(kvp_setting(conn, vm), "HostExchangeItems")
    assert len(kept) == KVP_ITEMS_PER_VM and "one-more" not in kept
    # Room is made by removing one.
    kvp_call(conn, "RemoveKvpItems", vm, item("key-0-0", "", 0))
    kvp_call(conn, "AddKvpItems", vm, item("one-more", "y", 0))
    assert items(kvp_setting(conn, vm), "HostExchangeItems")["one-more"] == ("y", 0)


def test_items_are_embedded_instances_a_client_parses(conn) -> None:
    vm = define_vm(conn, "kvp-embedded")
    kvp_call(conn, "AddKvpItems", vm, item("k", "v", 0))
    [embedded] = kvp_setting(conn, vm)["HostExchangeItems"]
    assert isinstance(embedded, CIMInstance) and embedded.classname == "Msvm_KvpExchangeDataItem"


def shutdown_component(conn, vm):
    found = conn.ExecQuery("WQL", f"SELECT * FROM Msvm_ShutdownComponent WHERE SystemName='{vm['Name']}'")
    assert len(found) == 1
    return found[0]


def test_disabled_shutdown_component_refuses_initiate_shutdown(conn) -> None:
    vm = define_vm(conn, "ic-shutdown-off")
    [setting] = conn.ExecQuery("WQL", f"SELECT * FROM Msvm_ShutdownComponentSettingData WHERE InstanceID LIKE 'Microsoft:{vm['Name']}%'")
    code, out = modify_enabled(conn, setting, 3)
    assert code == 0 and out["ResultingResourceSettings"][0]["InstanceID"] == setting["InstanceID"]
    assert conn.GetInstance(setting.path)["EnabledState"] == 3
    assert request_state(conn, vm, 2)[0] == 4096 and state(conn, vm) == 2
    component = shutdown_component(conn, vm)
    assert component["EnabledState"] == 3
    code, _ = conn.InvokeMethod("InitiateShutdown", component.path, Force=False, Reason="disabled")
    assert int(code) == 32775
    assert state(conn, vm) == 2
    # Enabled again while the VM runs (Hyper-V allows it): the guest shuts down.
    assert modify_enabled(conn, conn.GetInstance(setting.path), 2)[0] == 0
    code, _ = conn.InvokeMethod("InitiateShutdown", shutdown_component(conn, vm).path, Force=False, Reason="enabled")
    assert int(code) == 0
    wait_until(lambda: state(conn, vm) == 3, "the guest shut down")


def test_heartbeat_disabled_shows_on_the_running_component(conn) -> None:
    vm = define_vm(conn, "ic-heartbeat-off")
    [setting] = conn.ExecQuery("WQL", f"SELECT * FROM Msvm_HeartbeatComponentSettingData WHERE InstanceID LIKE 'Microsoft:{vm['Name']}%'")
    assert modify_enabled(conn, setting, 3)[0] == 0
    request_state(conn, vm, 2)
    [component] = conn.ExecQuery("WQL", f"SELECT * FROM Msvm_HeartbeatComponent WHERE SystemName='{vm['Name']}'")
    assert component["EnabledState"] == 3
    request_state(conn, vm, 3)


def test_bad_enabled_state_fails_naming_the_property(conn) -> None:
    vm = define_vm(conn, "ic-bad-state")
    [setting] = conn.ExecQuery("WQL", f"SELECT * FROM Msvm_VssComponentSettingData WHERE InstanceID LIKE 'Microsoft:{vm['Name']}%'")
    code, out = modify_enabled(conn, setting, 5)
    assert code == 4096
    job = wait_job(conn, out["Job"])
    assert job["JobState"] == 10 and job["ErrorCode"] == 32773 and "EnabledState" in job["ErrorDescription"]
    assert conn.GetInstance(setting.path)["EnabledState"] == 2


def test_components_cannot_be_removed(conn) -> None:
    vm = define_vm(conn, "ic-remove")
    [setting] = conn.ExecQuery("WQL", f"SELECT * FROM Msvm_TimeSyncComponentSettingData WHERE InstanceID LIKE 'Microsoft:{vm['Name']}%'")
    code, out = conn.InvokeMethod("RemoveResourceSettings", service(conn), ResourceSettings=[setting.path])
    assert int(code) == 4096 and wait_job(conn, out["Job"])["ErrorCode"] == 32773
    assert conn.GetInstance(setting.path)["EnabledState"] == 2
