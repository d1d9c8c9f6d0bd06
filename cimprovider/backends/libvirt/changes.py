"""What changed between two readings of a VM, as bus events.

libvirt is the truth and anyone may change it (virsh, another manager, the
guest powering off), so the backend publishes differences between what it
last told the bus and what libvirt says now — the same way for its own
changes and for everybody else's, which keeps each VM's events in order
and never repeats one.
"""

from __future__ import annotations

from cimprovider.backends.placement import all_devices
from cimprovider.schemas.events import (
    DeviceAdded,
    DeviceModified,
    DeviceRemoved,
    EventBase,
    KvpChange,
    KvpChanged,
    PowerStateChanged,
    VmDefined,
    VmDestroyed,
    VmModified,
)
from cimprovider.schemas.power import PowerRequest
from cimprovider.schemas.vm import SystemSettings, VirtualMachine


def vm_events(
    old: VirtualMachine | None, new: VirtualMachine | None, request: PowerRequest | None = None
) -> list[EventBase]:
    if old is None:
        return [VmDefined(vm=new)] if new is not None else []
    if new is None:
        return [VmDestroyed(vm=old)]
    events: list[EventBase] = []
    # A change of health alone (paused by the user, then by an I/O error),
    # or of the hold a migration keeps on it, is a change of the system as well.
    condition_only = old.condition != new.condition and old.power_state is new.power_state
    if condition_only or old.held != new.held or any(getattr(old, name) != getattr(new, name) for name in SystemSettings.model_fields):
        events.append(VmModified(previous=old, vm=new))
    before = {device.id: device for device in all_devices(old)}
    after = {device.id: device for device in all_devices(new)}
    events += [DeviceRemoved(vm_id=new.id, device=device) for key, device in before.items() if key not in after]
    for key, device in after.items():
        if key not in before:
            events.append(DeviceAdded(vm_id=new.id, device=device))
        elif before[key] != device:
            events.append(DeviceModified(vm_id=new.id, previous=before[key], device=device))
    events += kvp_events(old, new)
    if old.power_state is not new.power_state:
        events.append(PowerStateChanged(vm_id=new.id, old=old.power_state, new=new.power_state, request=request))
    return events


def kvp_events(old: VirtualMachine, new: VirtualMachine) -> list[EventBase]:
    before = {item.name: item for item in old.kvp_items}
    after = {item.name: item for item in new.kvp_items}
    events: list[EventBase] = []
    for name, item in after.items():
        if name not in before:
            events.append(KvpChanged(vm_id=new.id, change=KvpChange.ADDED, item=item))
        elif before[name] != item:
            events.append(KvpChanged(vm_id=new.id, change=KvpChange.MODIFIED, item=item))
    events += [KvpChanged(vm_id=new.id, change=KvpChange.REMOVED, item=item) for name, item in before.items() if name not in after]
    return events
