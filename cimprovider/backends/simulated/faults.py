"""Faults of a simulated guest. A simulated guest has no kernel to panic
and no agent to hang, so it takes its faults from the host, the way a
real guest reads what the host writes: through a host KVP item named
`SimulatedGuestFault` (AddKvpItems, `cimprovider vm kvp set`).

- `hang`: the guest stops answering its integration services; the
  heartbeat reads lost communication until the item is removed or changed.
- `crash`: a running guest stops on an internal error the moment the item is
  written: the VM is off, critical, until it is started again (the
  simulated equivalent of libvirt's "crashed" shut-off reason).
"""

from __future__ import annotations

from enum import Enum

from cimprovider.schemas.integration import KvpItem, KvpSource
from cimprovider.schemas.power import Health, VmCondition
from cimprovider.schemas.vm import VirtualMachine

FAULT_ITEM = "SimulatedGuestFault"
CRASHED = VmCondition(health=Health.CRITICAL, detail="off: the guest stopped on an internal error (crashed)")


class GuestFault(str, Enum):
    HANG = "hang"
    CRASH = "crash"


def guest_fault(vm: VirtualMachine) -> GuestFault | None:
    item = next((i for i in vm.kvp_items if i.name == FAULT_ITEM and i.source is KvpSource.HOST), None)
    try:
        return GuestFault(item.data.strip().lower()) if item is not None else None
    except ValueError:
        return None  # any other value is an ordinary item to the guest


def hung(vm: VirtualMachine) -> bool:
    return guest_fault(vm) is GuestFault.HANG


def crash_written(items: tuple[KvpItem, ...]) -> bool:
    """Whether the items just written tell the guest to crash."""
    return any(i.name == FAULT_ITEM and i.data.strip().lower() == GuestFault.CRASH.value for i in items)
