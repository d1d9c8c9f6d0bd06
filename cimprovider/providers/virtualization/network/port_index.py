"""Which VM a switch port belongs to, from the port's GUID alone (a hash of
the VM and adapter ids, so it cannot be read back): a GetInstance of one
port, as an association from a VM's port allocation asks, then reads that
VM rather than every VM on the switch.

Built on first use from the VM list and kept by the bus events that add,
change or remove adapters. It is only a hint: a port not where it points
(a change the bus has not told yet) is looked for among every VM."""

from __future__ import annotations

import threading
from uuid import UUID

from cimprovider.providers.virtualization.model import Virtualization
from cimprovider.providers.virtualization.network import identity
from cimprovider.schemas.events import DeviceAdded, DeviceModified, DeviceRemoved, EventBase, VmDefined, VmDestroyed, VmModified
from cimprovider.schemas.devices import NetworkAdapter
from cimprovider.schemas.vm import VirtualMachine

_CHANGES = (VmDefined, VmModified, VmDestroyed, DeviceAdded, DeviceModified, DeviceRemoved)


class PortIndex:
    def __init__(self, virt: Virtualization) -> None:
        self._virt = virt
        self._lock = threading.Lock()
        self._owner: dict[UUID, UUID] | None = None  # port GUID -> VM id; None until first used
        self._ports: dict[UUID, tuple[UUID, ...]] = {}  # VM id -> its port GUIDs
        self._subscription = virt.backend.events.subscribe(self._on_event, _CHANGES)

    def vm_of(self, port_guid: UUID) -> UUID | None:
        with self._lock:
            if self._owner is None:
                self._owner = {}
                for vm in self._virt.backend.list_vms():
                    self._put(vm.id, vm)
            return self._owner.get(port_guid)

    def _on_event(self, event: EventBase) -> None:
        # From what the event carries: the backend publishes under its own
        # lock, so nothing here asks it anything.
        with self._lock:
            if self._owner is None:
                return
            if isinstance(event, (VmDefined, VmModified)):
                self._put(event.vm.id, event.vm)
            elif isinstance(event, VmDestroyed):
                self._put(event.vm.id, None)
            elif isinstance(event, (DeviceAdded, DeviceRemoved)) and isinstance(event.device, NetworkAdapter):
                guids = set(self._ports.get(event.vm_id, ()))
                guid = identity.vm_port_guid(event.vm_id, event.device.id)
                guids = guids | {guid} if isinstance(event, DeviceAdded) else guids - {guid}
                self._set(event.vm_id, tuple(guids))

    def _put(self, vm_id: UUID, vm: VirtualMachine | None) -> None:
        """Caller holds the lock and has built the table."""
        self._set(vm_id, tuple(identity.vm_port_guid(vm.id, nic.id) for nic in vm.network_adapters) if vm is not None else ())

    def _set(self, vm_id: UUID, guids: tuple[UUID, ...]) -> None:
        assert self._owner is not None
        for guid in self._ports.pop(vm_id, ()):
            self._owner.pop(guid, None)
        if guids:
            self._ports[vm_id] = guids
            for guid in guids:
                self._owner[guid] = vm_id

    def close(self) -> None:
        self._subscription.close()
