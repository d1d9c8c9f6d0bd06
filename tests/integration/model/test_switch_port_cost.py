"""Following a switch to its ports builds each port once, not every port
for each (counted on the renderer, so nothing here depends on timing)."""

from __future__ import annotations

import pytest

from cimprovider.schemas.devices import NetworkAdapter
from cimprovider.schemas.host import VirtualSwitch
from cimprovider.schemas.vm import SystemSettings
from tests.integration.model.hyperv import NS
from tests.integration.model.test_query_pushdown import rendered_by
from tests.support.live import in_process_server

PORTS = 40


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory):
    found: dict = {}
    with in_process_server(tmp_path_factory.mktemp("ports"), extensions=[lambda reg, cat, parts: found.update(parts=parts)]) as live:
        virt = found["parts"].registry.instance_provider(NS, "Msvm_ComputerSystem").virt
        switch = virt.backend.define_switch(VirtualSwitch(name="crowded"))
        for i in range(PORTS):
            virt.backend.define_vm(SystemSettings(name=f"vm-{i:02}"), [NetworkAdapter(name=f"port-{i:02}", switch_id=switch.id)])
        yield live.connection(NS), virt, virt.switch_path(switch.id)


def test_a_switch_to_its_ports_builds_each_port_once(model) -> None:
    conn, virt, switch = model
    ports, built = rendered_by(virt, lambda: conn.Associators(switch, AssocClass="Msvm_SystemDevice", ResultClass="Msvm_EthernetSwitchPort"))
    assert sorted(p["ElementName"] for p in ports) == [f"port-{i:02}" for i in range(PORTS)]
    # Each port, plus the association instances the engine builds on the way.
    assert built <= 2 * PORTS + 5
