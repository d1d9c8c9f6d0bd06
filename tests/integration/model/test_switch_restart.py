"""Switches, connections and port features survive a restart; a removed
Default Switch stays removed."""

from __future__ import annotations

from pywbem import Uint16, Uint32

from tests.integration.model.hyperv import NS, check, define_vm, service
from tests.integration.model.switches import (
    VLAN,
    add_adapter,
    connect,
    default_of,
    define_switch,
    ports_of_switch,
    switch_by_name,
    switch_service,
)
from tests.support.live import in_process_server


def test_switches_ports_and_features_survive_restarts(tmp_path):
    with in_process_server(tmp_path) as live:
        conn = live.connection(NS)
        uplink = define_switch(conn, "uplink", "external", "eth0")
        vm = define_vm(conn, "kept")
        add_adapter(conn, vm, "port-kept")
        allocation = connect(conn, uplink, "port-kept")
        vlan = default_of(conn, VLAN)
        vlan["AccessVlanId"], vlan["OperationMode"] = Uint16(300), Uint32(1)
        check(conn, conn.InvokeMethod("AddFeatureSettings", service(conn), AffectedConfiguration=allocation, FeatureSettings=[vlan.tocimxmlstr()]))
        default = switch_by_name(conn, "Default Switch")[0]
        check(conn, conn.InvokeMethod("DestroySystem", switch_service(conn), AffectedSystem=default.path))
    with in_process_server(tmp_path) as live:
        conn = live.connection(NS)
        assert switch_by_name(conn, "Default Switch") == []
        [switch] = switch_by_name(conn, "uplink")
        assert switch["Name"] == uplink["Name"]
        assert [p["ElementName"] for p in ports_of_switch(conn, uplink) if p["ElementName"] == "port-kept"] == ["port-kept"]
        assert [v["AccessVlanId"] for v in conn.Associators(allocation, ResultClass=VLAN)] == [300]
        bound = [a for a in conn.EnumerateInstances("Msvm_ExternalEthernetPort") if a["IsBound"]]
        assert [a["ElementName"] for a in bound] == ["eth0"]
