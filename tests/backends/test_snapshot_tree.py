"""The snapshot contract every snapshot-keeping backend meets whatever its
disks: the tree (parents, the current snapshot, the last applied one),
names, applying as Hyper-V allows (off or saved only; a snapshot of a
running VM comes back saved, a production one off) with the settings of
the moment, destroying one or a subtree, and surviving a restart. VMs
here have no disks (the test driver keeps snapshot metadata only); disk
content is tested in test_snapshots (VHD chains) and on QEMU (tier 2)."""

from __future__ import annotations

import pytest

from cimprovider.backends import InvalidStateError, NotFoundError, SnapshotBackend, change_power_state
from cimprovider.schemas import PowerRequest, PowerState
from cimprovider.schemas.snapshots import SnapshotKind
from tests.backends.backend_scenarios import new_vm


@pytest.fixture
def backend(harness) -> SnapshotBackend:
    opened = harness.open()
    assert isinstance(opened, SnapshotBackend), f"the {harness.name} backend keeps no snapshots"
    return opened


def test_snapshots_form_a_tree_and_the_position_follows(backend) -> None:
    vm = new_vm(backend, "tree-vm")
    first = backend.create_snapshot(vm.id, "first")
    second = backend.create_snapshot(vm.id, "second")
    assert (first.parent_id, second.parent_id) == (None, first.id)
    assert (first.name, first.kind, first.has_saved_state, first.vm_id) == ("first", SnapshotKind.STANDARD, False, vm.id)
    assert backend.snapshot_position(vm.id).current_id == second.id
    backend.apply_snapshot(first.id)
    branch = backend.create_snapshot(vm.id, "branch")
    assert branch.parent_id == first.id
    position = backend.snapshot_position(vm.id)
    assert (position.current_id, position.last_applied_id) == (branch.id, first.id)
    assert [s.name for s in backend.list_snapshots(vm.id)] == ["first", "second", "branch"]
    assert backend.get_snapshot(second.id).name == "second"
    assert backend.rename_snapshot(second.id, "renamed").name == "renamed"
    assert backend.get_snapshot(second.id).parent_id == first.id
    with pytest.raises(NotFoundError):
        backend.get_snapshot(new_vm(backend, "other").id)


def test_applying_restores_the_settings_of_the_moment(backend) -> None:
    vm = new_vm(backend, "settings-vm")
    snapshot = backend.create_snapshot(vm.id)
    assert snapshot.vm.notes == () and snapshot.name.startswith("settings-vm - (")
    backend.modify_vm(vm.id, backend.get_vm(vm.id).settings.replace(notes="changed after the snapshot"))
    restored = backend.apply_snapshot(snapshot.id)
    assert restored.notes == () and restored.power_state is PowerState.OFF
    assert backend.get_vm(vm.id).notes == ()


def test_apply_needs_the_vm_off_or_saved_and_a_running_snapshot_comes_back_saved(backend) -> None:
    vm = new_vm(backend, "running-vm")
    change_power_state(backend, vm.id, PowerRequest.START)
    snapshot = backend.create_snapshot(vm.id)
    production = backend.create_snapshot(vm.id, kind=SnapshotKind.PRODUCTION)
    assert snapshot.has_saved_state and not production.has_saved_state
    assert backend.get_vm(vm.id).power_state is PowerState.RUNNING
    with pytest.raises(InvalidStateError):
        backend.apply_snapshot(snapshot.id)
    change_power_state(backend, vm.id, PowerRequest.STOP)
    assert backend.apply_snapshot(snapshot.id).power_state is PowerState.SAVED
    assert backend.apply_snapshot(production.id).power_state is PowerState.OFF  # from saved, too


def test_destroying_re_parents_children_and_a_tree_goes_whole(backend) -> None:
    vm = new_vm(backend, "destroy-vm")
    first = backend.create_snapshot(vm.id, "first")
    second = backend.create_snapshot(vm.id, "second")
    third = backend.create_snapshot(vm.id, "third")
    backend.destroy_snapshot(second.id)
    assert backend.get_snapshot(third.id).parent_id == first.id
    with pytest.raises(NotFoundError):
        backend.get_snapshot(second.id)
    backend.destroy_snapshot(first.id, tree=True)
    assert backend.list_snapshots(vm.id) == [] and backend.snapshot_position(vm.id).current_id is None


def test_snapshots_survive_a_restart_and_go_with_their_vm(harness, backend) -> None:
    vm = new_vm(backend, "kept-vm")
    snapshot = backend.create_snapshot(vm.id, "kept")
    backend.close()
    reopened = harness.open()
    assert [s.name for s in reopened.list_snapshots(vm.id)] == ["kept"]
    assert reopened.snapshot_position(vm.id).current_id == snapshot.id
    reopened.destroy_vm(vm.id)
    assert all(s.vm_id != vm.id for s in reopened.list_snapshots())
