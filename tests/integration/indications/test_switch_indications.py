"""Switch and port changes reach a WMI-style subscription over the wire:
a switch defined and destroyed through the switch service, and the port of
a VM adapter connected to it."""

from __future__ import annotations

from tests.integration.indications.conftest import Served
from tests.integration.indications.test_model_indications import subscriber
from tests.integration.model.hyperv import NS, check, define_vm
from tests.integration.model.switches import add_adapter, connect, define_switch, switch_service
from cimprovider.indications.listener import listening


def test_switch_and_port_creation_and_deletion(server: Served) -> None:
    conn = server.live.connection(NS)
    created_q = ("SELECT * FROM __InstanceCreationEvent WITHIN 2 WHERE TargetInstance ISA 'Msvm_VirtualEthernetSwitch'"
                 " OR TargetInstance ISA 'Msvm_EthernetSwitchPort'")
    deleted_q = "SELECT * FROM __InstanceDeletionEvent WITHIN 2 WHERE TargetInstance ISA 'Msvm_VirtualEthernetSwitch'"
    vm = define_vm(conn, "switch-watched")
    add_adapter(conn, vm, "port-watched")
    with subscriber(server) as sub, listening() as created, listening() as deleted:
        sub.subscribe(created, created_q, "WQL")
        sub.subscribe(deleted, deleted_q, "WQL")
        switch = define_switch(conn, "watched")
        connect(conn, switch, "port-watched")
        born = created.collect(2, timeout=10)
        check(conn, conn.InvokeMethod("DestroySystem", switch_service(conn), AffectedSystem=switch))
        [gone] = deleted.collect(1, timeout=10)
    assert [(i["SourceInstance"].classname, i["SourceInstance"]["ElementName"]) for i in born] == [
        ("Msvm_VirtualEthernetSwitch", "watched"), ("Msvm_EthernetSwitchPort", "port-watched")]
    assert born[1]["SourceInstance"]["SystemName"] == switch["Name"]
    assert gone["SourceInstance"]["Name"] == switch["Name"]
