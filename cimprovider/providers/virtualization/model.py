"""What every virtualization provider shares: the backend, the job runner,
the renderer, the host's identity, and what the backend does not keep —
the RequestedState of a transition in flight, when the state last changed
and built instances cached per VM. Caches are dropped by the bus events
that change them, never by time."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from pywbem import CIM_ERR_NOT_FOUND, CIMError, CIMInstanceName

from cimprovider.backends import Backend, NotFoundError, SnapshotBackend
from cimprovider.jobs import JobRunner
from cimprovider.providers.base import Pushdown, instance_not_found
from cimprovider.providers.virtualization import ids
from cimprovider.providers.virtualization.render import Renderer
from cimprovider.schemas.events import (
    BackendHealthChanged,
    ComponentHealthChanged,
    DeviceAdded,
    DeviceModified,
    DeviceRemoved,
    EventBase,
    KvpChanged,
    PowerStateChanged,
    VmDefined,
    VmDestroyed,
    VmHealth,
    VmHealthChanged,
    VmModified,
)
from cimprovider.schemas.snapshots import Snapshot
from cimprovider.schemas.vm import VirtualMachine

T = TypeVar("T")
CS = "Msvm_ComputerSystem"
VSMS = "Msvm_VirtualSystemManagementService"
VSMS_NAME = "vmms"
SWITCH = "Msvm_VirtualEthernetSwitch"


@dataclass
class Virtualization:
    backend: Backend
    jobs: JobRunner
    renderer: Renderer
    host_name: str
    requested: dict[UUID, int] = field(default_factory=dict)
    state_since: dict[UUID, datetime] = field(default_factory=dict)
    # The processor load of each sampling interval of a VM's run, oldest
    # first (the metrics sampler's), for the summary information.
    load_history: Callable[[UUID], list[int]] | None = None
    # A VM's health as the metrics sampler last found it.
    vm_health: Callable[[UUID], VmHealth] | None = None
    # The host's health as the metrics sampler last found it (a full
    # storage root; an unreachable hypervisor the backend reports itself).
    host_health: Callable[[], VmHealth] | None = None
    # (cache name, VM id) -> whatever a provider built for that VM
    _cache: dict[tuple[str, UUID], Any] = field(default_factory=dict)
    _cache_names: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    # Every VM's id in the backend's order, until a VM comes or goes (None:
    # list them again); the generation refuses a list taken across a change.
    _vm_ids: list[UUID] | None = None
    _vm_ids_generation: int = 0

    def __post_init__(self) -> None:
        self._subscription = self.backend.events.subscribe(
            self._on_event,
            (VmDefined, VmDestroyed, VmModified, PowerStateChanged, DeviceAdded, DeviceRemoved, DeviceModified, KvpChanged,
             VmHealthChanged, ComponentHealthChanged, BackendHealthChanged),
        )

    @property
    def namespace(self) -> str:
        return self.renderer.namespace

    def close(self) -> None:
        self._subscription.close()

    # --- events ----------------------------------------------------------

    def _on_event(self, event: EventBase) -> None:
        if isinstance(event, (VmDefined, VmDestroyed, BackendHealthChanged)):
            # A reconnected backend may find VMs that came or went meanwhile.
            with self._lock:
                self._vm_ids_generation += 1
                self._vm_ids = None
        vm_id = getattr(event, "vm_id", None) or getattr(getattr(event, "vm", None), "id", None)
        if vm_id is None:
            return
        if isinstance(event, PowerStateChanged):
            from cimprovider.providers.virtualization.systems.states import POWER_REQUESTS

            codes = {request: code for code, request in POWER_REQUESTS.items()}
            if event.request is not None:
                self.requested[vm_id] = codes.get(event.request, 2)
            else:
                self.requested.pop(vm_id, None)
            self.state_since[vm_id] = event.timestamp
        with self._lock:
            # By the few cache names, not by a scan of every VM's entries:
            # one change stays as cheap with 10,000 VMs as with 10.
            for name in self._cache_names:
                self._cache.pop((name, vm_id), None)
        if isinstance(event, VmDestroyed):
            self.requested.pop(vm_id, None)
            self.state_since.pop(vm_id, None)

    def cached(self, name: str, vm_id: UUID) -> Any:
        return self._cache.get((name, vm_id))

    def vm_ids(self) -> list[UUID]:
        """Every VM's id, in the backend's order, kept until the bus says a
        VM came or went: an enumeration answered from kept XML then lists
        nothing (with libvirt, listing reads every domain). The list is
        shared: never to be changed."""
        kept = self._vm_ids
        if kept is not None:
            return kept
        generation = self._vm_ids_generation
        listed = [vm.id for vm in self.backend.list_vms()]
        with self._lock:
            if generation == self._vm_ids_generation:
                self._vm_ids = listed
        return listed

    def remember(self, name: str, vm_id: UUID, value: Any, vm: VirtualMachine) -> None:
        # Only if the VM did not change while we built: an event in between
        # would have dropped the entry, and we must not put a stale one back.
        with self._lock:
            if self.find_vm(vm_id) is vm:
                self._cache_names.add(name)
                self._cache[(name, vm_id)] = value

    # --- lookups ---------------------------------------------------------

    def find_vm(self, vm_id: UUID) -> VirtualMachine | None:
        try:
            return self.backend.get_vm(vm_id)
        except NotFoundError:
            return None

    def settings_owner(self, owner_id: UUID) -> VirtualMachine | None:
        """Whose resource settings an InstanceID `Microsoft:<owner_id>\\…`
        names: a VM, or a snapshot seen as the VM it froze."""
        return self.find_vm(owner_id) or self.snapshot_view(owner_id)

    def snapshot_view(self, snapshot_id: UUID) -> VirtualMachine | None:
        """The snapshot with that ID as frozen_view shows it, or None."""
        if not isinstance(self.backend, SnapshotBackend):
            return None
        try:
            return frozen_view(self.backend.get_snapshot(snapshot_id))
        except NotFoundError:
            return None

    def snapshot_views(self, pushdown: Pushdown | None = None) -> list[VirtualMachine]:
        """Every snapshot as frozen_view shows it (those whose IDs a
        pushdown pins InstanceID to, when it does)."""
        if not isinstance(self.backend, SnapshotBackend):
            return []
        wanted = _named_vm_ids(pushdown, "InstanceID") if pushdown is not None else None
        if wanted is None:
            return [frozen_view(snapshot) for snapshot in self.backend.list_snapshots()]
        return [view for view in map(self.snapshot_view, wanted) if view is not None]

    def present(self, vms: Iterable[VirtualMachine], read: Callable[[VirtualMachine], Iterable[T]]) -> Iterator[T]:
        """What `read` gives for each VM, without the VMs that vanish while
        an enumeration reads them (destroyed since the list was taken, or
        while a pull waited): such a VM is simply not returned. A VM still
        there that raised NotFoundError (a missing switch…) is a fault."""
        for vm in vms:
            try:
                found = list(read(vm))
            except NotFoundError:
                if self.find_vm(vm.id) is not None:
                    raise
                continue
            yield from found

    @contextmanager
    def gone_is_not_found(self, path: CIMInstanceName) -> Iterator[None]:
        """A VM found for a GetInstance that vanishes while it is read is
        CIM_ERR_NOT_FOUND, as if it had been gone already."""
        try:
            yield
        except NotFoundError:
            raise instance_not_found(path) from None

    def vm_or_not_found(self, vm_id: UUID | None, what: object) -> VirtualMachine:
        vm = self.find_vm(vm_id) if vm_id is not None else None
        if vm is None:
            raise CIMError(CIM_ERR_NOT_FOUND, f"no virtual machine for {what}")
        return vm

    def vms(self, pushdown: Pushdown | None = None, key: str = "InstanceID", name: str | None = None) -> list[VirtualMachine]:
        """The VMs a query can match, checked against the backend's list
        before anything is built: those its `key` property names (InstanceID
        = or LIKE 'Microsoft:<GUID>%', Name = '<GUID>', SystemName = …, a
        `__PATH`), and of those the ones whose name the `name` property
        (ElementName on the CS and VSSD) admits. Every VM without a pushdown."""
        if pushdown is None:
            return self.backend.list_vms()
        wanted = _named_vm_ids(pushdown, key)
        if wanted is None:
            found = self.backend.list_vms()
        else:
            found = [vm for vm in map(self.find_vm, wanted) if vm is not None]
        if name is not None:
            found = _named(found, pushdown, name)
        return found

    def sorted_vms(self, vms: Iterable[VirtualMachine]) -> list[VirtualMachine]:
        return sorted(vms, key=lambda vm: vm.id)

    # --- paths -------------------------------------------------------------

    def system_path(self, name: str) -> CIMInstanceName:
        return CIMInstanceName(CS, keybindings={"CreationClassName": CS, "Name": name}, namespace=self.namespace)

    def vm_path(self, vm_id: UUID) -> CIMInstanceName:
        return self.system_path(ids.guid(vm_id))

    def host_path(self) -> CIMInstanceName:
        return self.system_path(self.host_name)

    def service_path(self, classname: str = VSMS, name: str = VSMS_NAME) -> CIMInstanceName:
        return CIMInstanceName(
            classname,
            keybindings={"CreationClassName": classname, "Name": name, "SystemCreationClassName": CS, "SystemName": self.host_name},
            namespace=self.namespace,
        )

    def setting_path(self, classname: str, instance_id: str) -> CIMInstanceName:
        return CIMInstanceName(classname, keybindings={"InstanceID": instance_id}, namespace=self.namespace)

    def switch_path(self, switch_id: UUID) -> CIMInstanceName:
        return CIMInstanceName(SWITCH, keybindings={"CreationClassName": SWITCH, "Name": str(switch_id)}, namespace=self.namespace)

    def device_path(self, classname: str, vm_id: UUID, device_id: str) -> CIMInstanceName:
        return CIMInstanceName(
            classname,
            keybindings={"CreationClassName": classname, "DeviceID": device_id, "SystemCreationClassName": CS, "SystemName": ids.guid(vm_id)},
            namespace=self.namespace,
        )

    def text(self, path: CIMInstanceName) -> str:
        """A path as Hyper-V writes it into string properties."""
        return ids.path_text(self.host_name, self.namespace, path.classname, dict(path.keybindings))

    def vm_from_system(self, path: Any) -> UUID | None:
        """The VM a CS path names (or None: the host, or not a CS)."""
        if isinstance(path, CIMInstanceName):
            name = next((v for k, v in path.keybindings.items() if k.lower() == "name"), None)
            return ids.parse_guid(name) if isinstance(name, str) else None
        return None


def frozen_view(snapshot: Snapshot) -> VirtualMachine:
    """A snapshot's VM under the snapshot's own ID: Hyper-V names a
    checkpoint's resource settings `Microsoft:<checkpoint GUID>\\…`, so
    rendered from this view they are the checkpoint's, not the VM's."""
    return snapshot.vm.model_copy(update={"id": snapshot.id})


def _named_vm_ids(pushdown: Pushdown, key: str) -> list[UUID] | None:
    """The VMs whose IDs the pushdown pins `key` to, or None when it does
    not pin them (any VM may match)."""
    texts: list[object] | None = None
    values = pushdown.values_for(key)
    if values is not None:
        texts = list(values)
    elif pushdown.paths:
        texts = [_key_of(path, key) for path in pushdown.paths]
    if texts is not None:
        found = (_vm_id(text, key) for text in texts)
        return list(dict.fromkeys(vm_id for vm_id in found if vm_id is not None))
    prefix = pushdown.prefix_for(key)
    if isinstance(prefix, str) and key.lower() == "instanceid":
        # 'Microsoft:<GUID>%' names one VM only if the GUID is complete.
        head = prefix.replace("/", "\\").split("\\")[0]
        if len(head) >= len(ids.PREFIX) + 36:
            ref = ids.parse_setting_id(head)
            return [ref.vm_id] if ref is not None else []
    return None


def _named(vms: list[VirtualMachine], pushdown: Pushdown, name: str) -> list[VirtualMachine]:
    """The VMs whose name the pushdown admits. Equality on names is first
    checked case-folded against a set — a superset of what the query
    language admits, at a fraction of `admits` per VM, which matters with
    thousands of VMs — and `admits` decides on the few left."""
    wanted = pushdown.values_for(name)
    if wanted and all(isinstance(value, str) for value in wanted):
        folded = {value.casefold() for value in wanted}  # type: ignore[union-attr]
        vms = [vm for vm in vms if vm.name.casefold() in folded]
    return [vm for vm in vms if pushdown.admits(name, vm.name)]


def _key_of(path: CIMInstanceName, key: str) -> object:
    return next((v for k, v in path.keybindings.items() if k.lower() == key.lower()), None)


def _vm_id(value: object, key: str) -> UUID | None:
    if not isinstance(value, str):
        return None
    if key.lower() == "instanceid":
        ref = ids.parse_setting_id(value)
        return ref.vm_id if ref is not None else None
    return ids.parse_guid(value)
