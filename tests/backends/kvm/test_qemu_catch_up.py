"""Tier 2: what happens on the libvirt host while the server is down
reaches a WBEM listener once the server is back: a guest started with
virsh meanwhile raises the CIM_InstModification of its state, a domain
defined meanwhile the CIM_InstCreation of its Msvm_ComputerSystem, as
each would have had the server been running (and once each)."""

from __future__ import annotations

import uuid
from pathlib import Path

from pywbem import CIMInstance, CIMInstanceName, WBEMServer, WBEMSubscriptionManager

import guest
from cimprovider.indications.listener import listening
from qemu_host import URI, Host, host, libvirtd_in_use, shared_host, wait_for_console  # noqa: F401 (fixtures)
from tests.support.live import in_process_server

NS = "root/virtualization/v2"
OFF, RUNNING = 3, 2


def test_changes_made_while_the_server_was_down_arrive_as_indications_when_it_is_back(host: Host, tmp_path: Path) -> None:
    running = host.define_guest("while-down")
    arrived_uuid = uuid.uuid4()
    arrived_name = f"{host.tag}-arrived"
    guids = (running.UUIDString().upper(), str(arrived_uuid).upper())
    query = (
        "SELECT * FROM CIM_InstIndication WHERE SourceInstance ISA Msvm_ComputerSystem"
        f" AND (SourceInstance.Name = '{guids[0]}' OR SourceInstance.Name = '{guids[1]}')"
    )
    data = tmp_path / "data"
    with listening() as stream:
        with in_process_server(data, backend="libvirt", libvirt_uri=URI, libvirt_domain_type="qemu") as server:
            vm = CIMInstanceName("Msvm_ComputerSystem", keybindings={"CreationClassName": "Msvm_ComputerSystem", "Name": guids[0]}, namespace=NS)
            assert server.connection(NS).GetInstance(vm)["EnabledState"] == OFF
            manager = WBEMSubscriptionManager(f"t2{uuid.uuid4().hex[:6]}")
            server_id = manager.add_server(WBEMServer(server.connection()))
            # Not owned: the subscription outlives this connection, as it must outlive the server.
            dest = manager.add_destination(server_id, stream.listener_url, owned=False, name="t2down")
            flt = manager.add_filter(server_id, [NS], query, "DMTF:CQL", owned=False, name="t2down")
            manager.add_subscriptions(server_id, flt.path, [dest.path], owned=False)
            manager.remove_server(server_id)

        running.create()  # the server is down
        host.domains.append(arrived_name)
        host.conn.defineXML(guest.domain_xml(arrived_name, host.workdir, host.initrd).replace(
            f"<name>{arrived_name}</name>", f"<name>{arrived_name}</name><uuid>{arrived_uuid}</uuid>"))
        wait_for_console(host.console(running), r"guest: ready")

        with in_process_server(data, backend="libvirt", libvirt_uri=URI, libvirt_domain_type="qemu"):
            got = stream.collect(2, timeout=60)
            kinds = {(i.classname, str(i["SourceInstance"]["Name"])): i for i in got}
            assert set(kinds) == {("CIM_InstModification", guids[0]), ("CIM_InstCreation", guids[1])}, [i.classname for i in got]
            started = kinds[("CIM_InstModification", guids[0])]
            assert (_state(started["PreviousInstance"]), _state(started["SourceInstance"])) == (OFF, RUNNING)
            assert kinds[("CIM_InstCreation", guids[1])]["SourceInstance"]["ElementName"] == arrived_name
            assert stream.collect(1, timeout=2) == []  # once each


def _state(embedded: CIMInstance) -> int:
    return int(embedded["EnabledState"])
