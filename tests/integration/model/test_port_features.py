"""Port features through the VM management service with the port
allocation as AffectedConfiguration, as os-win and Microsoft's samples do
it: VLAN (access and trunk, 1–4094), security (MAC spoofing, DHCP and
router guard) and bandwidth (limit, reservation); the switch's own
bandwidth defaults through the switch service; bad values refused."""

from __future__ import annotations

import re
import uuid

from pywbem import CIMInstanceName, Uint8, Uint16, Uint32, Uint64

from tests.integration.model.hyperv import NS, check, define_vm, request_state, service
from tests.integration.model.switches import (
    BANDWIDTH,
    EPASD,
    SECURITY,
    VLAN,
    add_adapter,
    connect,
    default_of,
    define_switch,
    failure,
    settings_of_switch,
    switch_service,
)

# os-win's init_caches: a feature's port allocation is the head of its InstanceID.
OS_WIN_PORT_ID = re.compile("Microsoft:[0-9A-F-]*\\\\[0-9A-F-]*\\\\[0-9A-F-]", flags=re.IGNORECASE)


def _wired(conn, name: str) -> CIMInstanceName:
    switch = define_switch(conn, f"sw-{name}")
    vm = define_vm(conn, name)
    add_adapter(conn, vm, f"port-{name}")
    return connect(conn, switch, f"port-{name}")


def _add(conn, allocation, feature):
    return conn.InvokeMethod("AddFeatureSettings", service(conn), AffectedConfiguration=allocation, FeatureSettings=[feature.tocimxmlstr()])


def _vlan(conn, access: int):
    vlan = default_of(conn, VLAN)
    vlan["AccessVlanId"] = Uint16(access)
    vlan["OperationMode"] = Uint32(1)
    return vlan


def test_access_vlan_as_os_win_sets_it(conn):
    allocation = _wired(conn, "vlan")
    out = check(conn, _add(conn, allocation, _vlan(conn, 42)))
    found = conn.Associators(allocation, ResultClass=VLAN)
    assert [(v["OperationMode"], v["AccessVlanId"]) for v in found] == [(1, 42)]
    assert found[0]["InstanceID"] == out["ResultingFeatureSettings"][0]["InstanceID"]
    assert OS_WIN_PORT_ID.match(found[0]["InstanceID"]).group() == allocation["InstanceID"]
    # os-win's set_vswitch_port_vlan_id: remove the old setting, add the new one.
    check(conn, conn.InvokeMethod("RemoveFeatureSettings", service(conn), FeatureSettings=[found[0].path]))
    check(conn, _add(conn, allocation, _vlan(conn, 43)))
    assert [v["AccessVlanId"] for v in conn.Associators(allocation, ResultClass=VLAN)] == [43]


def test_trunk_mode_and_the_vlan_range(conn):
    allocation = _wired(conn, "trunk")
    check(conn, _add(conn, allocation, _vlan(conn, 7)))
    vlan = conn.Associators(allocation, ResultClass=VLAN)[0]
    vlan["OperationMode"] = Uint32(2)
    vlan["TrunkVlanIdArray"] = [Uint16(10), Uint16(20), Uint16(4094)]
    vlan["NativeVlanId"] = Uint16(10)
    check(conn, conn.InvokeMethod("ModifyFeatureSettings", service(conn), FeatureSettings=[vlan.tocimxmlstr()]))
    now = conn.GetInstance(vlan.path)
    assert (now["OperationMode"], list(now["TrunkVlanIdArray"]), now["NativeVlanId"]) == (2, [10, 20, 4094], 10)
    now["TrunkVlanIdArray"] = [Uint16(10), Uint16(4095)]
    code, message = failure(conn, conn.InvokeMethod("ModifyFeatureSettings", service(conn), FeatureSettings=[now.tocimxmlstr()]))
    assert code == 32773 and "TrunkVlanIdArray" in message
    assert list(conn.GetInstance(vlan.path)["TrunkVlanIdArray"]) == [10, 20, 4094]
    other = _wired(conn, "range")
    for bad in (0, 4095):
        code, message = failure(conn, _add(conn, other, _vlan(conn, bad)))
        assert code == 32773 and "AccessVlanId" in message
    assert conn.Associators(other, ResultClass=VLAN) == []


def test_security_and_bandwidth_on_a_running_vm(conn):
    allocation = _wired(conn, "guarded")
    vm = conn.AssociatorNames(conn.AssociatorNames(allocation, ResultClass="Msvm_VirtualSystemSettingData")[0],
                              ResultClass="Msvm_ComputerSystem")[0]
    assert request_state(conn, vm, 2)[0] == 4096
    security = default_of(conn, SECURITY)
    security["AllowMacSpoofing"] = True
    security["EnableDhcpGuard"] = True
    security["EnableRouterGuard"] = True
    check(conn, _add(conn, allocation, security))
    shown = conn.Associators(allocation, ResultClass=SECURITY)[0]
    assert (shown["AllowMacSpoofing"], shown["EnableDhcpGuard"], shown["EnableRouterGuard"]) == (True, True, True)
    bandwidth = default_of(conn, BANDWIDTH)
    bandwidth["Limit"] = Uint64(100_000_000)
    bandwidth["Reservation"] = Uint64(10_000_000)
    check(conn, _add(conn, allocation, bandwidth))
    shown = conn.Associators(allocation, ResultClass=BANDWIDTH)[0]
    assert (shown["Limit"], shown["Reservation"]) == (100_000_000, 10_000_000)
    shown["Reservation"] = Uint64(200_000_000)
    code, message = failure(conn, conn.InvokeMethod("ModifyFeatureSettings", service(conn), FeatureSettings=[shown.tocimxmlstr()]))
    assert code == 32773 and "Reservation" in message
    mirror = conn.Associators(allocation, ResultClass=SECURITY)[0]
    mirror["MonitorMode"] = Uint8(1)  # port mirroring: not carried out here, so refused
    code, message = failure(conn, conn.InvokeMethod("ModifyFeatureSettings", service(conn), FeatureSettings=[mirror.tocimxmlstr()]))
    assert code == 32773 and "MonitorMode" in message
    assert conn.Associators(allocation, ResultClass=SECURITY)[0]["MonitorMode"] == 0


def test_a_feature_for_a_vm_that_does_not_exist_is_refused(conn):
    ghost = CIMInstanceName(EPASD, keybindings={"InstanceID": f"Microsoft:{str(uuid.uuid4()).upper()}\\{str(uuid.uuid4()).upper()}\\C"}, namespace=NS)
    code, message = failure(conn, _add(conn, ghost, _vlan(conn, 5)))
    assert code == 32779 and ghost["InstanceID"] in message


def test_switch_bandwidth_defaults_and_feature_templates(conn):
    switch = define_switch(conn, "shaped")
    settings = settings_of_switch(conn, switch)
    flow = default_of(conn, "Msvm_VirtualEthernetSwitchBandwidthSettingData")
    flow["DefaultFlowReservation"] = Uint64(1_000_000)
    check(conn, conn.InvokeMethod("AddFeatureSettings", switch_service(conn), AffectedConfiguration=settings.path, FeatureSettings=[flow.tocimxmlstr()]))
    found = conn.Associators(settings.path, ResultClass="Msvm_VirtualEthernetSwitchBandwidthSettingData")
    assert [f["DefaultFlowReservation"] for f in found] == [1_000_000]
    for capabilities in conn.EnumerateInstances("Msvm_EthernetSwitchFeatureCapabilities"):
        templates = conn.Associators(capabilities.path, AssocClass="Msvm_FeatureSettingsDefineCapabilities")
        assert [t["InstanceID"].rsplit("\\", 1)[1] for t in templates] == ["Default"]
        assert templates[0].classname == capabilities["FeatureSettingClass"]
