"""Which VMs a query's pushdown lets the model build: the VM list is
narrowed by the key a query pins (InstanceID, Name, SystemName, __PATH) and
by ElementName before any instance is rendered."""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID, uuid4

import pytest

from cimprovider.backends import NotFoundError
from cimprovider.providers.virtualization.model import Virtualization
from cimprovider.query import parse_query


@dataclass
class Vm:
    id: UUID
    name: str


class _Events:
    def subscribe(self, *_args):
        return self

    def close(self) -> None:
        pass


@dataclass
class Backend:
    vms: dict[UUID, Vm] = field(default_factory=dict)
    events: _Events = field(default_factory=_Events)
    listed: int = 0

    def list_vms(self) -> list[Vm]:
        self.listed += 1
        return list(self.vms.values())

    def get_vm(self, vm_id: UUID) -> Vm:
        try:
            return self.vms[vm_id]
        except KeyError:
            raise NotFoundError(str(vm_id)) from None


@pytest.fixture
def model() -> tuple[Virtualization, list[Vm], Backend]:
    backend = Backend()
    vms = [Vm(uuid4(), name) for name in ("web", "db", "Web", "cache")]
    backend.vms = {vm.id: vm for vm in vms}
    return Virtualization(backend, jobs=None, renderer=None, host_name="host"), vms, backend  # type: ignore[arg-type]


def narrowed(virt: Virtualization, where: str, **how: str) -> list[str]:
    pushdown = parse_query("WQL", f"SELECT * FROM Msvm_ComputerSystem WHERE {where}").pushdown()
    return sorted(vm.name for vm in virt.vms(pushdown, **how))


def test_element_name_is_matched_as_wql_does(model) -> None:
    virt, _, _ = model
    assert narrowed(virt, "ElementName = 'WEB'", key="Name", name="ElementName") == ["Web", "web"]
    assert narrowed(virt, "ElementName LIKE 'ca%'", key="Name", name="ElementName") == ["cache"]
    assert narrowed(virt, "ElementName = 'none'", key="Name", name="ElementName") == []


def test_element_name_is_ignored_where_it_is_not_the_vm_name(model) -> None:
    virt, _, _ = model
    # On a resource setting ElementName names the device, not the VM.
    assert len(narrowed(virt, "ElementName = 'Memory'")) == 4


def test_a_pinned_key_reads_only_that_vm(model) -> None:
    virt, vms, backend = model
    guid = str(vms[1].id).upper()
    assert narrowed(virt, f"Name = '{guid}'", key="Name") == ["db"]
    assert narrowed(virt, f"InstanceID LIKE 'Microsoft:{guid}%'") == ["db"]
    assert narrowed(virt, f"InstanceID = 'Microsoft:{guid}\\\\4764334d-e001-4176-82ee-5594ec9b530e'") == ["db"]
    assert narrowed(virt, f"SystemName = '{guid.lower()}'", key="SystemName") == ["db"]
    assert backend.listed == 0


def test_incomplete_prefix_or_other_forms_read_every_vm(model) -> None:
    virt, vms, _ = model
    assert len(narrowed(virt, f"InstanceID LIKE 'Microsoft:{str(vms[0].id)[:8]}%'")) == 4
    assert narrowed(virt, "InstanceID LIKE 'Microsoft:Definition%'") == ["Web", "cache", "db", "web"]
    assert narrowed(virt, "Name = 'host'", key="Name") == []


def test_path_equality_names_the_vm(model) -> None:
    virt, vms, _ = model
    guid = str(vms[3].id).upper()
    where = f"__PATH = 'Msvm_ComputerSystem.CreationClassName=\"Msvm_ComputerSystem\",Name=\"{guid}\"'"
    assert narrowed(virt, where, key="Name") == ["cache"]
