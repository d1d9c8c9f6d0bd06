"""A VM's Msvm_ComputerSystem is built in the background after it changes,
so the next enumeration finds it ready; what it finds is never stale."""

from __future__ import annotations

from cimprovider.schemas.power import PowerRequest
from cimprovider.schemas.vm import SystemSettings
from cimprovider.backends import change_power_state
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
