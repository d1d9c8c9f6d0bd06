"""Switches as Hyper-V's switch service defines them: private, internal
(the host gets an Msvm_InternalEthernetPort) and external (bound to a host
adapter, found back as os-win does through LANEndpoint and
ActiveConnection); identified by GUID, names may repeat; renamed,
re-ported and destroyed; bad input refused with a clear error."""

from __future__ import annotations

from pywbem import CIMInstance

from tests.integration.model.hyperv import check
from tests.integration.model.switches import (
    EPASD,
    VESSD,
    adapter_path,
    default_of,
    define_switch,
    failure,
    host_path,
    host_port,
    settings_of_switch,
    switch_by_name,
    switch_service,
)


def _kind(conn, switch) -> str:
    ports = conn.Associators(settings_of_switch(conn, switch).path, AssocClass="Msvm_VirtualSystemSettingDataComponent", ResultClass=EPASD)
    targets = {p["HostResource"][0].split(":", 1)[1].split(".")[0] for p in ports}
    return "external" if "Msvm_ExternalEthernetPort" in targets else "internal" if "Msvm_ComputerSystem" in targets else "private"


def test_a_fresh_host_has_the_default_switch_with_the_host_on_it(conn):
    found = switch_by_name(conn, "Default Switch")
    assert len(found) == 1
    internal = conn.Associators(host_path(conn), AssocClass="Msvm_SystemDevice", ResultClass="Msvm_InternalEthernetPort")
    assert [p["ElementName"] for p in internal] == ["Default Switch"]
    assert _kind(conn, found[0].path) == "internal"


def test_the_three_kinds_and_repeated_names(conn):
    private = define_switch(conn, "lab")
    internal = define_switch(conn, "lab", "internal")
    external = define_switch(conn, "uplink", "external", "eth1")
    assert {private["Name"], internal["Name"]} == {s["Name"] for s in switch_by_name(conn, "lab")}
    assert (_kind(conn, private), _kind(conn, internal), _kind(conn, external)) == ("private", "internal", "external")
    assert conn.GetInstance(external)["EnabledState"] == 2
    # os-win's get_vswitch_external_port: adapter → its LANEndpoint → the switch's endpoint.
    adapter = conn.GetInstance(adapter_path(conn, "eth1"))
    assert adapter["IsBound"] is True
    mine = conn.Associators(adapter.path, ResultClass="Msvm_LANEndpoint")
    far = conn.Associators(mine[0].path, ResultClass="Msvm_LANEndpoint")
    assert [e["SystemName"] for e in far] == [external["Name"]]
    for switch in (private, internal, external):
        check(conn, conn.InvokeMethod("DestroySystem", switch_service(conn), AffectedSystem=switch))
    assert conn.GetInstance(adapter_path(conn, "eth1"))["IsBound"] is False


def test_rename_notes_and_ports_change_the_kind(conn):
    switch = define_switch(conn, "before")
    settings = settings_of_switch(conn, switch)
    settings["ElementName"] = "after"
    settings["Notes"] = ["lab network"]
    check(conn, conn.InvokeMethod("ModifySystemSettings", switch_service(conn), SystemSettings=settings.tocimxmlstr()))
    assert conn.GetInstance(switch)["ElementName"] == "after"
    assert settings_of_switch(conn, switch)["Notes"] == ["lab network"]
    out = check(conn, conn.InvokeMethod("AddResourceSettings", switch_service(conn), AffectedConfiguration=settings.path,
                                         ResourceSettings=[host_port(conn, host_path(conn))]))
    assert _kind(conn, switch) == "internal"
    check(conn, conn.InvokeMethod("RemoveResourceSettings", switch_service(conn), ResourceSettings=out["ResultingResourceSettings"]))
    assert _kind(conn, switch) == "private"
    check(conn, conn.InvokeMethod("DestroySystem", switch_service(conn), AffectedSystem=switch))
    assert switch_by_name(conn, "after") == []


def test_bad_input_is_refused_and_changes_nothing(conn):
    bound = define_switch(conn, "bound", "external", "eth0")
    before = sorted(s["Name"] for s in conn.EnumerateInstances("Msvm_VirtualEthernetSwitch"))
    settings = default_of(conn, VESSD)
    settings["ElementName"] = "second"
    twice = host_port(conn, adapter_path(conn, "eth0"))
    code, message = failure(conn, conn.InvokeMethod("DefineSystem", switch_service(conn), SystemSettings=settings.tocimxmlstr(),
                                                     ResourceSettings=[twice], ReferenceConfiguration=None))
    assert code == 32774 and "eth0" in message and "bound" in message
    nowhere = default_of(conn, EPASD)
    nowhere["HostResource"] = ['\\\\HOST\\root\\virtualization\\v2:Msvm_ExternalEthernetPort.CreationClassName="Msvm_ExternalEthernetPort",'
                               'DeviceID="Microsoft:NOPE",SystemCreationClassName="Msvm_ComputerSystem",SystemName="HOST"']
    code, message = failure(conn, conn.InvokeMethod("DefineSystem", switch_service(conn), SystemSettings=settings.tocimxmlstr(),
                                                     ResourceSettings=[nowhere.tocimxmlstr()], ReferenceConfiguration=None))
    assert code == 32773 and "HostResource" in message and "Microsoft:NOPE" in message
    unnamed = CIMInstance(VESSD, properties={"Notes": ["no name"]})
    code, message = failure(conn, conn.InvokeMethod("DefineSystem", switch_service(conn), SystemSettings=unnamed.tocimxmlstr(),
                                                     ResourceSettings=[], ReferenceConfiguration=None))
    assert code == 32773 and "ElementName" in message
    assert sorted(s["Name"] for s in conn.EnumerateInstances("Msvm_VirtualEthernetSwitch")) == before
    check(conn, conn.InvokeMethod("DestroySystem", switch_service(conn), AffectedSystem=bound))
    code, message = failure(conn, conn.InvokeMethod("DestroySystem", switch_service(conn), AffectedSystem=bound))
    assert code == 32779 and bound["Name"] in message
