"""VM adapters connect as Hyper-V's do: an Msvm_EthernetPortAllocationSettingData
whose Parent is the adapter and whose HostResource is the switch, added,
moved to another switch and disconnected — also while the VM runs — with
a switch port per connection; destroying a switch leaves its VMs'
adapters disconnected."""

from __future__ import annotations

from pywbem import Uint16

from tests.integration.model.hyperv import check, define_vm, request_state, service, settings_of
from tests.integration.model.switches import (
    EPASD,
    add_adapter,
    connect,
    define_switch,
    ports_of_switch,
    switch_service,
)


def _vm_ports(conn, switch) -> list[str]:
    return sorted(p["ElementName"] for p in ports_of_switch(conn, switch) if p["ElementName"].startswith("port-"))


def test_connect_move_and_disconnect_while_running(conn):
    red, blue = define_switch(conn, "red"), define_switch(conn, "blue", "internal")
    vm = define_vm(conn, "wired")
    add_adapter(conn, vm, "port-a")
    assert request_state(conn, vm, 2)[0] == 4096
    allocation = connect(conn, red, "port-a")
    assert _vm_ports(conn, red) == ["port-a"]
    port = ports_of_switch(conn, red)[0]
    assert port["SystemName"] == red["Name"]
    assert [a["InstanceID"] for a in conn.Associators(port.path, AssocClass="Msvm_ElementSettingData")] == [allocation["InstanceID"]]
    vssd = conn.AssociatorNames(vm, AssocClass="Msvm_SettingsDefineState")[0]
    assert allocation["InstanceID"] in [s["InstanceID"] for s in conn.Associators(vssd, ResultClass=EPASD)]
    connect(conn, blue, "port-a")  # moved: the allocation exists, so it is modified
    assert (_vm_ports(conn, red), _vm_ports(conn, blue)) == ([], ["port-a"])
    current = conn.GetInstance(allocation)
    assert current["HostResource"][0].endswith(f'Name="{blue["Name"]}"')
    current["EnabledState"] = Uint16(3)  # os-win's disconnect_switch_port without deleting it
    check(conn, conn.InvokeMethod("ModifyResourceSettings", service(conn), ResourceSettings=[current.tocimxmlstr()]))
    assert [p["EnabledState"] for p in ports_of_switch(conn, blue) if p["ElementName"] == "port-a"] == [3]
    check(conn, conn.InvokeMethod("RemoveResourceSettings", service(conn), ResourceSettings=[allocation]))
    assert _vm_ports(conn, blue) == [] and settings_of(conn, EPASD, vm) == []
    assert len(settings_of(conn, "Msvm_SyntheticEthernetPortSettingData", vm)) == 1


def test_a_legacy_adapter_connects_too(conn):
    switch = define_switch(conn, "legacy")
    vm = define_vm(conn, "old-guest")
    add_adapter(conn, vm, "port-legacy", "Msvm_EmulatedEthernetPortSettingData")
    allocation = connect(conn, switch, "port-legacy", "Msvm_EmulatedEthernetPortSettingData")
    assert "Msvm_EmulatedEthernetPortSettingData" in conn.GetInstance(allocation)["Parent"]
    assert _vm_ports(conn, switch) == ["port-legacy"]


def test_destroying_a_switch_disconnects_its_adapters(conn):
    doomed = define_switch(conn, "doomed")
    vm = define_vm(conn, "orphan")
    add_adapter(conn, vm, "port-orphan")
    connect(conn, doomed, "port-orphan")
    assert request_state(conn, vm, 2)[0] == 4096
    check(conn, conn.InvokeMethod("DestroySystem", switch_service(conn), AffectedSystem=doomed))
    everywhere = [host for a in conn.EnumerateInstances(EPASD) for host in a["HostResource"] or []]
    assert not any(doomed["Name"] in host for host in everywhere)
    assert settings_of(conn, EPASD, vm) == []
    assert [n["ElementName"] for n in settings_of(conn, "Msvm_SyntheticEthernetPortSettingData", vm)] == ["port-orphan"]
