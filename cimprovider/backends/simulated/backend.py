"""The simulated hypervisor: VMs that live in SQLite and behave like
Hyper-V's — power transitions that take time, hot-plug rules, runtime
figures that move while a guest runs.

The whole model is held in memory (loaded at open) and written through to
the store, one transaction per change, before the cache and the bus see it:
what a subscriber hears about is already durable. One lock serialises
changes, which also keeps each VM's events in order; transitions wait out
their time outside it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from uuid import UUID, uuid4

from cimprovider.backends.errors import BackendError, HeldError, InvalidParameterError, InvalidStateError, NotFoundError
from cimprovider.backends.edits import add_edit, default_vm, modify_edit, remove_edit, settings_edit
from cimprovider.backends.hotplug import AnyDevice
from cimprovider.backends.images import DriveMedia, PassthroughDisks, StorageRoots
from cimprovider.backends.pci import check_pci_device
from cimprovider.backends.kvp import KvpChanges, add_items, modify_items, remove_items
from cimprovider.backends.placement import find_device, validated
from cimprovider.backends.sharing import SharedVms
from cimprovider.backends.console import ConsoleKind, ConsoleStream
from cimprovider.backends.simulated.console import SimulatedConsoles
from cimprovider.backends.simulated.faults import CRASHED, crash_written
from cimprovider.backends.simulated.host import DEFAULT_SWITCH, describe_host, mac_address
from cimprovider.backends.simulated.runtime import runtime_figures
from cimprovider.backends.simulated.moving import MigrationOperations
from cimprovider.backends.simulated.network import NetworkOperations
from cimprovider.backends.simulated.statistics import vm_counters
from cimprovider.backends.simulated.planned import PlannedOperations
from cimprovider.backends.simulated.snapshot_merge import SnapshotMerges
from cimprovider.backends.simulated.snapshots import SnapshotOperations, Transaction
from cimprovider.backends.simulated.store import SimulatedStore
from cimprovider.backends.simulated.transition import SimulatedTransition
from cimprovider.backends.transitions import Settlement, TransitionInFlight, plan_power_change, power_request
from cimprovider.events import EventBus
from cimprovider.schemas.config import ServerConfig
from cimprovider.schemas.devices import Device, NetworkAdapter, PciDevice
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
from cimprovider.schemas.host import Host, VirtualSwitch
from cimprovider.schemas.integration import KvpItem
from cimprovider.schemas.power import PowerRequest, PowerState, VmCondition
from cimprovider.schemas.runtime import RuntimeFigures
from cimprovider.schemas.statistics import VmCounters
from cimprovider.schemas.vm import SystemSettings, VirtualMachine

CLOSE_GRACE_SECONDS = 10.0
_KEEP = object()  # _commit: leave the VM's start time as it is
_RESTARTS = {PowerRequest.START, PowerRequest.RESET, PowerRequest.REBOOT}


class SimulatedBackend(SnapshotOperations, SnapshotMerges, PlannedOperations, NetworkOperations, MigrationOperations):
    name = "simulated"

    def __init__(self, config: ServerConfig, bus: EventBus | None = None, clock: Callable[[], float] = time.time) -> None:
        self.events = bus if bus is not None else EventBus()
        self._config = config
        self._clock = clock
        self._host = describe_host(config)
        self._media = DriveMedia(StorageRoots(config.storage_roots), passthrough=PassthroughDisks(config.passthrough_disks))
        self._lock = threading.RLock()
        self._settled = threading.Condition(self._lock)
        self._closed = False
        self._store = SimulatedStore(config.database_path)
        self._vms: dict[UUID, VirtualMachine] = SharedVms()  # compacted: 10,000 VMs are common
        self._started_at: dict[UUID, float] = {}
        # VMs with a power change in flight, and the stable state each left:
        # that state is what the store keeps until the change completes.
        self._busy: dict[UUID, PowerState] = {}
        # VMs migrating (their storage or themselves): no change until done.
        self._held: dict[UUID, str] = {}  # VM → why it refuses every change
        conditions = self._store.load_conditions()  # a crash outlives a restart, until the VM starts again
        for vm_id, document, started_at in self._store.load_vms():
            vm = VirtualMachine.model_validate_json(document)
            if vm_id in conditions:
                vm = vm.model_copy(update={"condition": VmCondition.model_validate_json(conditions[vm_id])})
            self._vms[vm.id] = vm
            if started_at is not None:
                self._started_at[vm.id] = started_at
        self._next_mac = int(self._store.get_meta("next_mac") or "1")
        # A fresh host has Hyper-V's Default Switch; once removed it stays removed.
        if self._store.get_meta("default_switch") is None:
            with self._store.transaction() as db:
                self._store.put_switch(db, str(DEFAULT_SWITCH.id), DEFAULT_SWITCH.model_dump_json())
                self._store.set_meta(db, "default_switch", "created")
        self._switches = {s.id: s for s in map(VirtualSwitch.model_validate_json, self._store.load_switches())}
        self._load_snapshots()
        self._load_planned()
        self._consoles = SimulatedConsoles(self.events, clock)

    # host ---------------------------------------------------------------

    def host_info(self) -> Host:
        return self._host

    def list_switches(self) -> list[VirtualSwitch]:
        return list(self._switches.values())

    def get_switch(self, switch_id: UUID) -> VirtualSwitch:
        try:
            return self._switches[switch_id]
        except KeyError:
            raise NotFoundError(f"no virtual switch {switch_id}") from None

    # virtual machines ---------------------------------------------------

    def list_vms(self) -> list[VirtualMachine]:
        return list(self._vms.values())

    def get_vm(self, vm_id: UUID) -> VirtualMachine:
        try:
            return self._vms[vm_id]
        except KeyError:
            raise NotFoundError(f"no virtual machine {vm_id}") from None

    def define_vm(self, settings: SystemSettings, devices: Sequence[Device] = (), vm_id: UUID | None = None) -> VirtualMachine:
        with self._lock:
            self._check_open()
            vm_id = vm_id or uuid4()
            if vm_id in self._vms:
                raise InvalidParameterError("id", f"a VM {vm_id} already exists")
            macs = _MacAllocator(self._next_mac)
            vm = default_vm(vm_id, settings, devices, macs, self._media.check)
            self._commit(vm, [VmDefined(vm=vm)], next_mac=macs.counter)
            return vm

    def destroy_vm(self, vm_id: UUID) -> None:
        with self._lock:
            self._check_open()
            vm = self._idle_vm(vm_id, "destroy the VM")
            if vm.power_state not in (PowerState.OFF, PowerState.SAVED):
                raise InvalidStateError(f"cannot destroy a VM that is {vm.power_state.value}; turn it off first")
            with self._store.transaction() as db:
                self._store.delete_vm(db, str(vm_id))
                self._drop_vm_snapshots(db, vm_id)
            del self._vms[vm_id]
            self._started_at.pop(vm_id, None)
            self.events.publish(VmDestroyed(vm=vm))

    def modify_vm(self, vm_id: UUID, settings: SystemSettings) -> VirtualMachine:
        with self._lock:
            self._check_open()
            vm = self._idle_vm(vm_id, "modify the VM")
            changed = settings_edit(vm, settings)
            self._commit(changed, [VmModified(previous=vm, vm=changed)])
            return changed

    # devices ------------------------------------------------------------

    def add_device(self, vm_id: UUID, device: Device) -> Device:
        with self._lock:
            self._check_open()
            vm = self._idle_vm(vm_id, "add a device")
            macs = _MacAllocator(self._next_mac)
            changed, placed = add_edit(vm, device, macs, self._check_references, self._media.check)
            self._commit(changed, [DeviceAdded(vm_id=vm_id, device=placed)], next_mac=macs.counter)
            return placed

    def modify_device(self, vm_id: UUID, device: Device) -> Device:
        with self._lock:
            self._check_open()
            vm = self._idle_vm(vm_id, "modify a device")
            old = find_device(vm, device.id)
            macs = _MacAllocator(self._next_mac)
            changed, new = modify_edit(vm, device, macs, self._check_references, self._media.check)
            if new != old:
                self._commit(changed, [DeviceModified(vm_id=vm_id, previous=old, device=new)], next_mac=macs.counter)
            return new

    def remove_device(self, vm_id: UUID, device_id: UUID) -> None:
        with self._lock:
            self._check_open()
            vm = self._idle_vm(vm_id, "remove a device")
            device = find_device(vm, device_id)
            changed = remove_edit(vm, device_id)
            self._commit(changed, [DeviceRemoved(vm_id=vm_id, device=device)])

    # power and runtime --------------------------------------------------

    def begin_power_change(self, vm_id: UUID, request: PowerRequest) -> SimulatedTransition:
        request = power_request(request)
        with self._lock:
            self._check_open()
            vm = self._idle_vm(vm_id, request.value)
            path = plan_power_change(vm, request)
            self._busy[vm_id] = vm.power_state
            if path.transitional is not None:
                self._vms[vm_id] = vm.model_copy(update={"power_state": path.transitional})
                self.events.publish(PowerStateChanged(vm_id=vm_id, old=vm.power_state, new=path.transitional, request=request))
            return SimulatedTransition(
                Settlement(self._finish_transition, self._abandon_transition),
                vm_id, request, vm.power_state, path.transitional, path.end, self._config.transition_seconds,
            )

    def _finish_transition(self, transition: TransitionInFlight) -> VirtualMachine:
        with self._lock:
            self._busy.pop(transition.vm_id, None)
            try:
                current = self._vms[transition.vm_id]
                vm = current.model_copy(update={"power_state": transition.end_state})
                started_at = self._started_at.get(vm.id)
                if transition.request in _RESTARTS and transition.initial_state is not PowerState.PAUSED:
                    started_at = self._clock()
                    vm = vm.model_copy(update={"condition": VmCondition()})  # a fresh run: the crash is behind it
                elif transition.end_state in (PowerState.OFF, PowerState.SAVED):
                    started_at = None
                events: list[EventBase] = []
                if current.power_state is not transition.end_state:
                    events.append(PowerStateChanged(vm_id=vm.id, old=current.power_state, new=transition.end_state))
                booted_at = self._started_at.get(vm.id)
                self._commit(vm, events, started_at=started_at)
                if booted_at is not None and started_at != booted_at:
                    self._consoles.end(vm.id, "the VM restarted")
                return vm
            except BaseException:
                # Nothing committed: the VM is back in its initial state.
                if transition.vm_id in self._vms:
                    vm = self._vms[transition.vm_id].model_copy(update={"power_state": transition.initial_state})
                    self._vms[transition.vm_id] = vm
                raise
            finally:
                self._settled.notify_all()

    def _abandon_transition(self, transition: TransitionInFlight) -> None:
        """Nothing was stored for the transition: only the reservation and
        the published transitional state are undone."""
        with self._lock:
            self._busy.pop(transition.vm_id, None)
            current = self._vms.get(transition.vm_id)
            if current is not None and current.power_state is not transition.initial_state:
                self._vms[transition.vm_id] = current.model_copy(update={"power_state": transition.initial_state})
                self.events.publish(PowerStateChanged(vm_id=current.id, old=current.power_state, new=transition.initial_state))
            self._settled.notify_all()

    def get_runtime(self, vm_id: UUID) -> RuntimeFigures:
        vm = self.get_vm(vm_id)
        return runtime_figures(vm, self._started_at.get(vm_id), self._clock())

    def console_kinds(self, vm_id: UUID) -> frozenset[ConsoleKind]:
        return self._consoles.kinds(self.get_vm(vm_id))

    def open_console(self, vm_id: UUID, kind: ConsoleKind) -> ConsoleStream:
        with self._lock:
            vm, started_at = self.get_vm(vm_id), self._started_at.get(vm_id)
        return self._consoles.open(vm, started_at, kind)

    def vm_counters(self) -> list[VmCounters]:
        with self._lock:
            vms = [(vm, self._started_at.get(vm.id)) for vm in self._vms.values()]
        now = self._clock()
        return [vm_counters(vm, started_at, now) for vm, started_at in vms]

    # key-value pairs ----------------------------------------------------

    def add_kvp_items(self, vm_id: UUID, items: Sequence[KvpItem]) -> None:
        self._change_kvp(vm_id, lambda vm: add_items(vm, items))

    def modify_kvp_items(self, vm_id: UUID, items: Sequence[KvpItem]) -> None:
        self._change_kvp(vm_id, lambda vm: modify_items(vm, items))

    def remove_kvp_items(self, vm_id: UUID, names: Sequence[str]) -> None:
        self._change_kvp(vm_id, lambda vm: remove_items(vm, names))

    def _change_kvp(self, vm_id: UUID, change: Callable[[VirtualMachine], KvpChanges]) -> None:
        with self._lock:
            self._check_open()
            vm = self.get_vm(vm_id)
            items, events = change(vm)
            changed = validated(vm, kvp_items=items)
            self._commit(changed, [KvpChanged(vm_id=vm_id, change=kind, item=item) for kind, item in events])
            written = tuple(item for kind, item in events if kind is not KvpChange.REMOVED)
            if crash_written(written) and changed.power_state is PowerState.RUNNING and vm_id not in self._busy:
                self._crash(changed)

    def _crash(self, vm: VirtualMachine) -> None:
        """The simulated guest stopped on an internal error: off, and
        critical until it is started again."""
        crashed = vm.model_copy(update={"power_state": PowerState.OFF, "condition": CRASHED})
        self._commit(crashed, [PowerStateChanged(vm_id=vm.id, old=vm.power_state, new=PowerState.OFF)], started_at=None)

    # lifecycle ----------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            deadline = time.monotonic() + CLOSE_GRACE_SECONDS
            while self._busy and time.monotonic() < deadline:
                self._settled.wait(deadline - time.monotonic())
            self._closed = True
            self._consoles.close()
            self._store.close()

    def __enter__(self) -> "SimulatedBackend":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # internals ----------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise BackendError("the simulated backend is closed")

    def _idle_vm(self, vm_id: UUID, what: str) -> VirtualMachine:
        vm = self.get_vm(vm_id)
        if vm_id in self._busy:
            raise InvalidStateError(f"cannot {what}: the VM is {vm.power_state.value}; a transition is in progress")
        if vm_id in self._held:
            raise HeldError(f"cannot {what}: {self._held[vm_id]}")
        return vm

    def _check_references(self, device: AnyDevice) -> None:
        if isinstance(device, PciDevice):
            check_pci_device(device, self.host_info(), self._vms.values())
        if isinstance(device, NetworkAdapter) and device.switch_id is not None and device.switch_id not in self._switches:
            raise InvalidParameterError("switch_id", f"no virtual switch {device.switch_id}")

    def _commit(
        self,
        vm: VirtualMachine,
        events: list[EventBase],
        next_mac: int | None = None,
        started_at: object = _KEEP,
        also: Transaction | None = None,
    ) -> None:
        """Write `vm` (and the MAC counter, and whatever `also` writes) in
        one transaction, then make it visible."""
        stored_start = self._started_at.get(vm.id) if started_at is _KEEP else started_at
        stored = vm
        if vm.id in self._busy:
            stored = vm.model_copy(update={"power_state": self._busy[vm.id]})
        with self._store.transaction() as db:
            self._store.put_vm(db, str(vm.id), stored.model_dump_json(), stored_start)  # type: ignore[arg-type]
            self._store.put_condition(db, str(vm.id), None if vm.condition == VmCondition() else vm.condition.model_dump_json())
            if next_mac is not None and next_mac != self._next_mac:
                self._store.set_meta(db, "next_mac", str(next_mac))
            if also is not None:
                also(db)
        if next_mac is not None:
            self._next_mac = next_mac
        self._vms[vm.id] = vm
        if stored_start is None:
            self._started_at.pop(vm.id, None)
        else:
            self._started_at[vm.id] = stored_start  # type: ignore[assignment]
        for event in events:
            self.events.publish(event)


class _MacAllocator:
    """Hands out MAC addresses from the persisted counter; the counter is
    saved with the change that used it, so a crash never reuses one."""

    def __init__(self, counter: int) -> None:
        self.counter = counter

    def __call__(self) -> str:
        address = mac_address(self.counter)
        self.counter += 1
        return address

