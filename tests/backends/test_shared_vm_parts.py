"""The simulated backend keeps thousands of VMs compactly: equal parts of
its VMs are one object, and sharing them changes nothing a reader sees —
not the VMs' contents, not a later change of one VM."""

from __future__ import annotations

from pathlib import Path

from cimprovider.backends.simulated.backend import SimulatedBackend
from cimprovider.schemas.config import ServerConfig
from cimprovider.schemas.vm import SystemSettings, VirtualMachine


def backend_at(data_dir: Path) -> SimulatedBackend:
    return SimulatedBackend(ServerConfig(data_dir=data_dir, transition_seconds=0.0))


def test_vms_loaded_from_the_store_share_their_equal_parts(tmp_path: Path) -> None:
    first = backend_at(tmp_path)
    documents = {vm.id: vm.model_dump_json() for vm in (first.define_vm(SystemSettings(name=f"vm-{i}")) for i in range(3))}
    first.close()

    again = backend_at(tmp_path)
    try:
        a, b, c = (again.get_vm(vm_id) for vm_id in documents)
        assert a.integration_services is b.integration_services is c.integration_services
        assert a.__pydantic_fields_set__ is b.__pydantic_fields_set__
        assert a.processor.__pydantic_fields_set__ is b.processor.__pydantic_fields_set__
        assert a.controllers[0].id != b.controllers[0].id  # a VM's own parts stay its own
        assert {vm_id: again.get_vm(vm_id).model_dump_json() for vm_id in documents} == documents
    finally:
        again.close()


def test_changing_one_vm_leaves_the_vms_it_shares_with_as_they_were(tmp_path: Path) -> None:
    backend = backend_at(tmp_path)
    try:
        a = backend.define_vm(SystemSettings(name="a"))
        b = backend.define_vm(SystemSettings(name="b"))
        before, given = b.model_dump_json(), b.model_dump(exclude_unset=True)
        changed = a.model_copy(update={"name": "renamed"})
        backend.modify_vm(a.id, SystemSettings(name="renamed", notes=("changed",)))
        assert backend.get_vm(a.id).name == "renamed" and changed.name == "renamed"
        assert backend.get_vm(b.id).model_dump_json() == before
        assert VirtualMachine.model_validate_json(before) == backend.get_vm(b.id)
        assert backend.get_vm(b.id).model_dump(exclude_unset=True) == given
    finally:
        backend.close()
