"""Tier 2: a QEMU guest's state changes reach a WBEM listener as
CIM_InstModification indications of its Msvm_ComputerSystem, whether made
over CIM-XML (RequestStateChange through pywbem, against a server on
libvirt) or behind the server's back with virsh."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

from pywbem import CIMInstanceName, WBEMServer, WBEMSubscriptionManager

from cimprovider.indications.listener import listening
from qemu_host import URI, Host, host, libvirtd_in_use, shared_host, wait_for_console  # noqa: F401 (fixtures)
from tests.integration.model.hyperv import request_state
from tests.support.live import in_process_server
from tests.support.waiting import DEADLINE

NS = "root/virtualization/v2"
# EnabledState pairs (previous, source) each change raises.
OFF, RUNNING, PAUSED, STARTING, STOPPING, PAUSING, RESUMING = 3, 2, 9, 10, 4, 32776, 32777


def virsh(*args: str) -> None:
    subprocess.run(["virsh", "-q", "-c", URI, *args], check=True, capture_output=True, timeout=60)


def test_state_changes_made_over_cim_and_with_virsh_arrive_as_indications(host: Host, tmp_path: Path) -> None:
    domain = host.define_guest("indications")
    guid = domain.UUIDString().upper()
    query = (
        "SELECT * FROM CIM_InstModification WHERE SourceInstance ISA Msvm_ComputerSystem "
        f"AND SourceInstance.EnabledState <> PreviousInstance.EnabledState AND SourceInstance.Name = '{guid}'"
    )
    with in_process_server(tmp_path / "data", backend="libvirt", libvirt_uri=URI, libvirt_domain_type="qemu") as server:
        conn = server.connection(NS)
        vm = CIMInstanceName("Msvm_ComputerSystem", keybindings={"CreationClassName": "Msvm_ComputerSystem", "Name": guid}, namespace=NS)
        assert conn.GetInstance(vm)["ElementName"] == domain.name()
        manager = WBEMSubscriptionManager(f"t2{uuid.uuid4().hex[:6]}")
        server_id = manager.add_server(WBEMServer(server.connection()))
        try:
            with listening() as stream:
                dest = manager.add_destination(server_id, stream.listener_url, owned=True, destination_id="t2")
                flt = manager.add_filter(server_id, [NS], query, "DMTF:CQL", owned=True, filter_id="t2")
                manager.add_subscriptions(server_id, flt.path, [dest.path], owned=True)

                expected: list[tuple[int, int]] = []
                code, job = request_state(conn, vm, 2)
                assert code == 4096 and job["JobState"] == 7
                expected += [(OFF, STARTING), (STARTING, RUNNING)]
                wait_for_console(host.console(domain), r"guest: ready")
                virsh("suspend", domain.name())
                expected += [(RUNNING, PAUSED)]
                assert _states(stream.collect(len(expected), timeout=DEADLINE)) == expected
                virsh("resume", domain.name())
                got = stream.collect(1, timeout=DEADLINE)
                code, _ = request_state(conn, vm, 9)
                code2, _ = request_state(conn, vm, 2)
                code3, _ = request_state(conn, vm, 3)
                assert (code, code2, code3) == (4096, 4096, 4096)
                rest = [(RUNNING, PAUSING), (PAUSING, PAUSED), (PAUSED, RESUMING), (RESUMING, RUNNING), (RUNNING, STOPPING), (STOPPING, OFF)]
                got += stream.collect(len(rest), timeout=DEADLINE)
                assert _states(got) == [(PAUSED, RUNNING), *rest]
                assert all(i["SourceInstance"]["Name"] == guid for i in got)
                # Each change once: deliveries keep their order, so a
                # duplicate would come before the next start's two.
                assert request_state(conn, vm, 2)[0] == 4096
                assert _states(stream.collect(2, timeout=DEADLINE)) == [(OFF, STARTING), (STARTING, RUNNING)]
                assert request_state(conn, vm, 3)[0] == 4096
        finally:
            manager.remove_server(server_id)


def _states(received) -> list[tuple[int, int]]:  # type: ignore[no-untyped-def]
    return [(int(i["PreviousInstance"]["EnabledState"]), int(i["SourceInstance"]["EnabledState"])) for i in received]
