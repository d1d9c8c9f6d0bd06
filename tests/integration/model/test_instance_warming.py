"""A VM's Msvm_ComputerSystem is built in the background after it changes,
so the next enumeration finds it ready; what it finds is never stale."""

from __future__ import annotations

from cimprovider.schemas.power import PowerRequest
from cimprovider.schemas.vm import SystemSettings
from cimprovider.backends import change_power_state
from cimprovider.backends.simulated.backend import SimulatedBackend
from cimprovider.schemas.config import ServerConfig
from tests.integration.model.hyperv import NS
from tests.support.live import in_process_server
from tests.support.waiting import wait_until


def wait_for(predicate) -> None:
    wait_until(predicate, "the instance built in the background")


def test_instances_are_built_after_changes_and_match_the_vm(tmp_path):
    found: dict = {}
    with in_process_server(tmp_path, [lambda reg, cat, parts: found.update(parts=parts)]) as live:
        virt = found["parts"].registry.instance_provider(NS, "Msvm_ComputerSystem").virt
        vm = virt.backend.define_vm(SystemSettings(name="warmed"))
        wait_for(lambda: virt.cached("cs", vm.id) is not None)
        assert virt.cached("cs", vm.id)["EnabledState"] == 3

        change_power_state(virt.backend, vm.id, PowerRequest.START)
        wait_for(lambda: virt.cached("cs", vm.id) is not None and virt.cached("cs", vm.id)["EnabledState"] == 2)
        conn = live.connection(NS)
        (listed,) = [i for i in conn.EnumerateInstances("Msvm_ComputerSystem") if i["ElementName"] == "warmed"]
        assert listed["EnabledState"] == 2


def test_the_vms_a_server_starts_with_are_built_without_a_read(tmp_path):
    backend = SimulatedBackend(ServerConfig(data_dir=tmp_path))
    stored = [backend.define_vm(SystemSettings(name=f"stored-{i}")).id for i in range(5)]
    backend.close()
    found: dict = {}
    with in_process_server(tmp_path, [lambda reg, cat, parts: found.update(parts=parts)]):
        virt = found["parts"].registry.instance_provider(NS, "Msvm_ComputerSystem").virt
        wait_for(lambda: all(virt.cached("cs", vm_id) is not None for vm_id in stored))
        assert sorted(virt.cached("cs", vm_id)["ElementName"] for vm_id in stored) == [f"stored-{i}" for i in range(5)]
