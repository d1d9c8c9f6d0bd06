"""Snapshots as Hyper-V shows them: a Msvm_VirtualSystemSettingData per
snapshot (InstanceID `Microsoft:<snapshot GUID>`, VirtualSystemType
`Microsoft:Hyper-V:Snapshot:Realized` or `…:Recovery`, Parent = the parent
snapshot's path), the realized VSSD's Parent naming the snapshot the VM
runs on from, and the associations Msvm_SnapshotOfVirtualSystem,
Msvm_MostCurrentSnapshotInBranch, Msvm_ParentChildSettingData and
Msvm_LastAppliedSnapshot.

The VSSD class has one provider: this one wraps the realized-settings
provider and adds the snapshots."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import UUID

from pywbem import CIMInstance, CIMInstanceName

from cimprovider.backends import NotFoundError, SnapshotBackend
from cimprovider.providers.base import InstanceProvider, Keepable, Keepables, KeepableSource, OperationContext, PropertySet, Pushdown
from cimprovider.providers.virtualization import ids
from cimprovider.providers.virtualization.associations import Pair, PairAssociation, is_class, key, same_instance
from cimprovider.providers.virtualization.model import CS, Virtualization
from cimprovider.providers.virtualization.systems.settings import VSSD, SystemSettingsProvider, running_from, vssd_values
from cimprovider.schemas.snapshots import Snapshot, SnapshotKind
from cimprovider.schemas.vm import VirtualMachine

SNAPSHOT_TYPES = {
    SnapshotKind.STANDARD: "Microsoft:Hyper-V:Snapshot:Realized",
    SnapshotKind.PRODUCTION: "Microsoft:Hyper-V:Snapshot:Realized",
    SnapshotKind.RECOVERY: "Microsoft:Hyper-V:Snapshot:Recovery",
}


def snapshots_of(virt: Virtualization) -> SnapshotBackend | None:
    return virt.backend if isinstance(virt.backend, SnapshotBackend) else None


def snapshot_path(virt: Virtualization, snapshot_id: UUID) -> CIMInstanceName:
    return virt.setting_path(VSSD, ids.vssd_id(snapshot_id))


def find_snapshot(virt: Virtualization, path: Any) -> Snapshot | None:
    """The snapshot a VSSD path (or InstanceID) names, or None."""
    instance_id = key(path, "InstanceID") if isinstance(path, CIMInstanceName) else path
    ref = ids.parse_setting_id(instance_id) if isinstance(instance_id, str) else None
    backend = snapshots_of(virt)
    if ref is None or ref.parts or backend is None:
        return None
    try:
        return backend.get_snapshot(ref.vm_id)
    except NotFoundError:
        return None


def snapshot_values(virt: Virtualization, snapshot: Snapshot) -> dict[str, Any]:
    values = vssd_values(virt, snapshot.vm)
    values.update(
        InstanceID=ids.vssd_id(snapshot.id),
        Caption="Snapshot",
        Description="Settings and disks of a virtual machine at the time of a snapshot.",
        ElementName=snapshot.name,
        VirtualSystemType=SNAPSHOT_TYPES[snapshot.kind],
        ConfigurationID=ids.guid(snapshot.id),
        CreationTime=snapshot.created_at,
        IsSaved=snapshot.has_saved_state,
        Parent=virt.text(snapshot_path(virt, snapshot.parent_id)) if snapshot.parent_id else None,
    )
    return values


class SettingsWithSnapshots(InstanceProvider):
    """Msvm_VirtualSystemSettingData: the VMs' realized settings (from the
    wrapped provider) and every snapshot."""

    classnames = (VSSD,)

    def __init__(self, virt: Virtualization, realized: SystemSettingsProvider) -> None:
        self.virt = virt
        self.realized = realized

    def enumerate_instances(
        self, ctx: OperationContext, classname: str, properties: PropertySet, pushdown: Pushdown | None = None
    ) -> Iterator[CIMInstance]:
        for instance in self.realized.enumerate_instances(ctx, classname, properties, pushdown):
            yield self._with_parent(instance)
        backend = snapshots_of(self.virt)
        if backend is None:
            return
        wanted = {vm.id for vm in self.virt.vms(pushdown)} if pushdown is not None else None
        for snapshot in backend.list_snapshots():
            if wanted is None or snapshot.vm_id in wanted or snapshot.id in _pushdown_ids(pushdown):
                yield self.virt.renderer.instance(VSSD, snapshot_values(self.virt, snapshot), properties)

    def enumerate_keepable(self, ctx: OperationContext, classname: str, properties: PropertySet) -> Iterator[CIMInstance | Keepable | Keepables] | None:
        realized = self.realized.enumerate_keepable(ctx, classname, properties)
        return None if realized is None else self._keepable(realized, classname, properties)

    def _keepable(
        self, realized: Iterator[CIMInstance | Keepable | Keepables], classname: str, properties: PropertySet
    ) -> Iterator[CIMInstance | Keepable | Keepables]:
        backend = snapshots_of(self.virt)
        sources: dict[int, _WithParent] = {}
        for item in realized:
            if type(item) is Keepable or type(item) is Keepables:
                source = sources.get(id(item.source))
                if source is None:
                    source = sources[id(item.source)] = _WithParent(self, item.source, backend)
                item.source = source
                yield item
            else:
                yield self._with_parent(item)
        for snapshot in backend.list_snapshots() if backend is not None else ():
            yield self.virt.renderer.instance(VSSD, snapshot_values(self.virt, snapshot), properties)

    def get_instance(self, ctx: OperationContext, path: CIMInstanceName, properties: PropertySet) -> CIMInstance:
        snapshot = find_snapshot(self.virt, path)
        if snapshot is not None:
            return self.virt.renderer.instance(VSSD, snapshot_values(self.virt, snapshot), properties)
        return self._with_parent(self.realized.get_instance(ctx, path, properties))

    def _with_parent(self, instance: CIMInstance) -> CIMInstance:
        """Hyper-V's realized VSSD names the snapshot its VM runs on from."""
        ref = ids.parse_setting_id(str(instance.path.keybindings.get("InstanceID", ""))) if instance.path else None
        if ref is None or "Parent" not in instance.properties:
            return instance
        parent = running_from(self.virt, ref.vm_id)
        if parent is not None:
            instance["Parent"] = self.virt.text(parent)
        return instance


class _WithParent:
    """Realized settings with the snapshot their VM runs on. The Parent
    moves with snapshots, which not every backend reports on the bus: it
    is written afresh on every reply."""

    def __init__(self, provider: SettingsWithSnapshots, inner: KeepableSource, backend: SnapshotBackend | None) -> None:
        self.provider = provider
        self.inner = inner
        self.backend = backend

    def build(self, vm_id: UUID, key: object) -> CIMInstance | None:
        instance = self.inner.build(vm_id, key)
        return None if instance is None else self.provider._with_parent(instance)

    def live(self, vm_id: UUID) -> dict[str, Any]:
        moving = self.inner.live(vm_id)
        if self.backend is None:
            return moving
        virt = self.provider.virt
        parent = running_from(virt, vm_id)
        return {**moving, "Parent": virt.text(parent) if parent is not None else None}


def _pushdown_ids(pushdown: Pushdown | None) -> set[UUID]:
    values = pushdown.values_for("InstanceID") if pushdown is not None else None
    refs = [ids.parse_setting_id(v) for v in values or () if isinstance(v, str)]
    return {ref.vm_id for ref in refs if ref is not None}


# --- associations -------------------------------------------------------------


class _SnapshotAssociation(PairAssociation):
    """Pairs within one VM's snapshots: traversal from a VM, its realized
    settings or one of its snapshots reads that VM's snapshots only."""

    def vm_pairs(self, vm_id: UUID | None) -> Iterator[Pair]:
        """The pairs of one VM (None: of every VM)."""
        raise NotImplementedError

    def pairs(self) -> Iterator[Pair]:
        return self.vm_pairs(None)

    def snapshots(self, vm_id: UUID | None) -> list[Snapshot]:
        backend = snapshots_of(self.virt)
        return backend.list_snapshots(vm_id) if backend is not None else []

    def positions(self, vm_id: UUID | None) -> Iterator[tuple[UUID, UUID | None, UUID | None]]:
        backend = snapshots_of(self.virt)
        if backend is None:
            return
        def position(vm: VirtualMachine) -> list[tuple[UUID, UUID | None, UUID | None]]:
            at = backend.snapshot_position(vm.id)  # type: ignore[union-attr]
            return [(vm.id, at.current_id, at.last_applied_id)]

        vms = self.virt.backend.list_vms() if vm_id is None else [vm for vm in [self.virt.find_vm(vm_id)] if vm is not None]
        yield from self.virt.present(vms, position)

    def owner(self, path: CIMInstanceName) -> UUID | None:
        """The VM whose snapshots `path` belongs among: a VM, its realized
        settings, or one of its snapshots."""
        if is_class(path, CS):
            return self.virt.vm_from_system(path)
        instance_id = key(path, "InstanceID")
        ref = ids.parse_setting_id(instance_id) if isinstance(instance_id, str) else None
        if ref is None or ref.parts:
            return None
        if self.virt.find_vm(ref.vm_id) is not None:
            return ref.vm_id
        snapshot = find_snapshot(self.virt, path)
        return snapshot.vm_id if snapshot is not None else None

    def rights(self, left: CIMInstanceName) -> Iterator[CIMInstanceName]:
        vm_id = self.owner(left)
        return (r for l, r in self.vm_pairs(vm_id) if same_instance(l, left)) if vm_id is not None else iter(())

    def lefts(self, right: CIMInstanceName) -> Iterator[CIMInstanceName]:
        vm_id = self.owner(right)
        return (l for l, r in self.vm_pairs(vm_id) if same_instance(r, right)) if vm_id is not None else iter(())


class SnapshotOfVirtualSystem(_SnapshotAssociation):
    classname = "Msvm_SnapshotOfVirtualSystem"
    roles = ("Antecedent", "Dependent")

    def vm_pairs(self, vm_id: UUID | None) -> Iterator[Pair]:
        for snapshot in self.snapshots(vm_id):
            yield self.virt.vm_path(snapshot.vm_id), snapshot_path(self.virt, snapshot.id)


class MostCurrentSnapshotInBranch(_SnapshotAssociation):
    classname = "Msvm_MostCurrentSnapshotInBranch"
    roles = ("Antecedent", "Dependent")

    def vm_pairs(self, vm_id: UUID | None) -> Iterator[Pair]:
        for each, current, _ in self.positions(vm_id):
            if current is not None:
                yield self.virt.vm_path(each), snapshot_path(self.virt, current)


class LastAppliedSnapshot(_SnapshotAssociation):
    classname = "Msvm_LastAppliedSnapshot"
    roles = ("Antecedent", "Dependent")

    def vm_pairs(self, vm_id: UUID | None) -> Iterator[Pair]:
        for each, _, applied in self.positions(vm_id):
            if applied is not None:
                yield snapshot_path(self.virt, applied), self.virt.vm_path(each)


class ParentChildSettingData(_SnapshotAssociation):
    """Parent snapshot → child snapshot, and the current snapshot → the
    VM's realized settings, which grew from it."""

    classname = "Msvm_ParentChildSettingData"
    roles = ("Antecedent", "Dependent")

    def vm_pairs(self, vm_id: UUID | None) -> Iterator[Pair]:
        for snapshot in self.snapshots(vm_id):
            if snapshot.parent_id is not None:
                yield snapshot_path(self.virt, snapshot.parent_id), snapshot_path(self.virt, snapshot.id)
        for each, current, _ in self.positions(vm_id):
            if current is not None:
                yield snapshot_path(self.virt, current), self.virt.setting_path(VSSD, ids.vssd_id(each))


SNAPSHOT_ASSOCIATIONS = (SnapshotOfVirtualSystem, MostCurrentSnapshotInBranch, LastAppliedSnapshot, ParentChildSettingData)
