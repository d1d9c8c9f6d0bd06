"""Merging a destroyed snapshot's disk, as Hyper-V does when a checkpoint
is deleted: the differencing disk made when the snapshot was taken (the
one the VM, or the next snapshot, went on writing to) is merged into the
disk the snapshot froze, and whatever read through it is pointed at that
disk instead. So the chain gets shorter and the content every remaining
reader sees is unchanged.

Only where nothing else needs the frozen disk as it was: it is merged when
exactly one disk reads through it (no other snapshot branch, no disk of an
applied snapshot) and nothing uses it directly; otherwise it stays, as
before, until its readers go. Only disks snapshots made are merged away,
never a disk a client gave (that one may be merged into, as Hyper-V merges
into the original VHD).

The merge rewrites files before the records move, so a process killed in
between leaves records naming the merged-away disk; the window is one
commit long. A mixin of SimulatedBackend (after SnapshotOperations)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from uuid import UUID

from cimprovider.schemas.events import VmModified
from cimprovider.schemas.snapshots import Snapshot
from cimprovider.schemas.vm import VirtualMachine


class SnapshotMerges:
    _store: Any
    _vms: dict[UUID, VirtualMachine]
    _snapshots: dict[UUID, Snapshot]
    _snapshot_disks: dict[str, UUID]
    _images: Any
    _commit: Any
    _chain: Any
    list_snapshots: Any

    def _merge_frozen(self, vm_id: UUID, frozen: list[str]) -> None:
        for path in frozen:
            if Path(path).exists():
                self._merge_one(vm_id, Path(path))

    def _merge_one(self, vm_id: UUID, frozen: Path) -> None:
        used = self._disks_in_use(vm_id)
        if frozen.resolve() in {Path(p).resolve() for p in used}:
            return  # the VM or another snapshot uses it as it is
        children = self._children_of(frozen, used)
        if len(children) != 1:
            return
        child = children[0]
        if self._snapshot_disks.get(str(child)) != vm_id:
            return  # not a disk snapshots made: never merged away
        grandchildren = self._children_of(child, used)
        self._images.merge(child, frozen)
        for disk in grandchildren:
            self._images.set_parent(disk, frozen, ignore_id_mismatch=True)
        self._repoint(vm_id, str(child), str(frozen))

    def _disks_in_use(self, vm_id: UUID) -> list[str]:
        used = [d.media.path for d in self._vms[vm_id].drives if d.media is not None]
        return used + [path for s in self.list_snapshots(vm_id) for path in s.frozen_disks]

    def _children_of(self, parent: Path, used: list[str]) -> list[Path]:
        """The disks (in the chains of `used`) whose parent is `parent`."""
        target = parent.resolve()
        found: dict[Path, None] = {}
        for path in used:
            chain = self._chain(Path(path))
            for child, its_parent in zip(chain, chain[1:]):
                if its_parent == target:
                    found[child] = None
        return list(found)

    def _repoint(self, vm_id: UUID, old: str, new: str) -> None:
        """Every record naming `old` (the VM's drives, snapshots' drives and
        frozen disks) names `new` from now on."""
        def moved(vm: VirtualMachine) -> VirtualMachine:
            drives = tuple(d.replace(media=d.media.replace(path=new)) if d.media and _same(d.media.path, old) else d
                           for d in vm.drives)  # fmt: skip
            return vm.model_copy(update={"drives": drives})

        changed = [s.model_copy(update={"vm": moved(s.vm), "frozen_disks": tuple(new if _same(p, old) else p for p in s.frozen_disks)})
                   for s in self.list_snapshots(vm_id)]  # fmt: skip

        def record(db: Any) -> None:
            for snapshot in changed:
                self._store.put_snapshot(db, str(snapshot.id), str(vm_id), snapshot.model_dump_json())
            self._store.delete_snapshot_disk(db, old)

        vm = self._vms[vm_id]
        self._commit(moved(vm), [VmModified(previous=vm, vm=moved(vm))] if moved(vm) != vm else [], also=record)
        for snapshot in changed:
            self._snapshots[snapshot.id] = snapshot
        self._snapshot_disks.pop(old, None)


def _same(a: str, b: str) -> bool:
    return Path(a).resolve() == Path(b).resolve()
