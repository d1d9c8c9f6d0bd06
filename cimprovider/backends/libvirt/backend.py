"""The KVM backend: Hyper-V's model over libvirt.

libvirt is the source of truth: every read asks it, every change is made
in it (the persistent definition, and the running guest where Hyper-V
would change it live), and our own extras live in the domain's metadata.
The only state kept here is what no one else can know: which VMs have a
power change in flight (Hyper-V's transitional states) and what was last
published, so that changes — ours, virsh's, the guest's — reach the bus
once each, in order, as differences (see `changes`).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from typing import TypeVar
from uuid import UUID, uuid4

import libvirt
from lxml import etree

from cimprovider.backends.edits import add_edit, default_vm, modify_edit, remove_edit, settings_edit
from cimprovider.backends.errors import BackendError, HeldError, InvalidParameterError, InvalidStateError, NotFoundError
from cimprovider.backends.kvp import add_items, modify_items, remove_items
from cimprovider.backends.images import DriveMedia, PassthroughDisks, StorageRoots
from cimprovider.backends.libvirt.agents import AgentWatch
from cimprovider.backends.libvirt.consoles import LibvirtConsoles
from cimprovider.backends.libvirt.connection import LibvirtConnection
from cimprovider.backends.libvirt.defining import LibvirtDefining, definition_xml
from cimprovider.backends.libvirt.disk_images import DiskImages, is_local, volume_xml
from cimprovider.backends.libvirt.domain_write import new_domain, write_domain
from cimprovider.backends.libvirt.errors import translate
from cimprovider.backends.libvirt.health import HealthReport
from cimprovider.backends.libvirt.networks import network_switch
from cimprovider.backends.libvirt.switches import LibvirtSwitches
from cimprovider.backends.libvirt.host import bridge_switch, describe_host, domain_type
from cimprovider.backends.libvirt.last_seen import LastSeen
from cimprovider.backends.libvirt.metadata import find_started_at
from cimprovider.backends.libvirt.statistics import all_counters
from cimprovider.backends.libvirt.runtime import RuntimeSampler
from cimprovider.backends.libvirt.publishing import RESYNC, LibvirtPublishing
from cimprovider.backends.libvirt.snapshots import SnapshotOperations
from cimprovider.backends.libvirt.block_copy import LibvirtBlockCopy
from cimprovider.backends.libvirt.handover import LibvirtHandover
from cimprovider.backends.libvirt.migration import LibvirtMigration
from cimprovider.backends.libvirt.migration_files import LibvirtMigrationFiles
from cimprovider.backends.libvirt.snapshots_aside import SnapshotsSetAside
from cimprovider.backends.libvirt.transition import LibvirtTransition
from cimprovider.backends.libvirt.unfinished import UnfinishedSnapshotCleanup
from cimprovider.backends.placement import find_device
from cimprovider.backends.transitions import Settlement, TransitionInFlight, plan_power_change, power_request
from cimprovider.events import EventBus
from cimprovider.schemas.config import ServerConfig
from cimprovider.schemas.devices import Device
from cimprovider.schemas.events import BackendHealth, BackendHealthChanged, PowerStateChanged
from cimprovider.schemas.host import Host, VirtualSwitch
from cimprovider.schemas.integration import KvpItem
from cimprovider.schemas.power import PowerRequest, PowerState
from cimprovider.schemas.runtime import RuntimeFigures
from cimprovider.schemas.statistics import VmCounters
from cimprovider.schemas.vm import SystemSettings, VirtualMachine

log = logging.getLogger(__name__)
T = TypeVar("T")

CLOSE_GRACE_SECONDS = 10.0
LAST_SEEN_FILE = "libvirt-last-seen.sqlite3"


class LibvirtBackend(LibvirtPublishing, LibvirtDefining, SnapshotOperations, UnfinishedSnapshotCleanup, LibvirtSwitches,
                     LibvirtMigration, LibvirtMigrationFiles, SnapshotsSetAside, LibvirtHandover, LibvirtBlockCopy,
                     LibvirtConsoles):
    name = "libvirt"

    def __init__(self, config: ServerConfig, bus: EventBus | None = None) -> None:
        self.events = bus if bus is not None else EventBus()
        self._config = config
        self._lock = threading.RLock()
        self._settled = threading.Condition(self._lock)
        self._closed = False
        self._busy: dict[UUID, PowerState] = {}  # VM → its transitional state
        self._migrating: dict[UUID, str] = {}  # VMs held while they move to another host → why
        self._arriving: set[UUID] = set()  # VMs being made here from another host's record: not shown yet
        self._seen: dict[UUID, VirtualMachine] = {}
        self._first_seen_running: dict[UUID, float] = {}
        self._sampler = RuntimeSampler()
        self._images = DiskImages(
            is_local(config.libvirt_uri),
            DriveMedia(StorageRoots(config.storage_roots), passthrough=PassthroughDisks(config.passthrough_disks)),
            remote_volume=lambda path: self._call(lambda: volume_xml(self._conn(), path), f"look up the volume {path}"),
        )
        self._host: Host | None = None
        self._queue: queue.Queue[str | BackendHealthChanged | None] = queue.Queue()
        self._health = HealthReport(self.name, self._queue.put)
        self._agents = AgentWatch(lookup=lambda vm_id: self._conn().lookupByUUID(vm_id.bytes))
        self._connection = LibvirtConnection(config.libvirt_uri, self._queue.put, self._health_changed,
                                             lambda uuid, state, reason: self._agents.on_event(UUID(uuid), state, reason))
        explicit = "libvirt_domain_type" in config.model_fields_set
        try:
            self._domain_type, why = self._call(
                lambda: domain_type(self._conn(), config.libvirt_domain_type, explicit), "choose the domain type"
            )
        except BackendError:
            self._connection.close()
            raise
        log.info("new VMs get domain type %s on %s: %s", self._domain_type, config.libvirt_uri, why)
        self._last_seen = LastSeen(config.data_dir / LAST_SEEN_FILE, config.libvirt_uri)
        self._restore_set_aside_snapshots()
        current = self.list_vms()
        known = self._last_seen.load()
        with self._lock:
            if known is None:
                self._last_seen.start(current)
                known = {vm.id: vm for vm in current}
            # What the bus was last told, not what is: `catch_up` publishes
            # what changed while the server was down.
            self._seen.update(known)
            self._seen_switches = {switch.id: switch for switch in self.list_switches()}
        self._dispatcher = threading.Thread(target=self._dispatch, name="libvirt-changes", daemon=True)
        self._dispatcher.start()

    # host ---------------------------------------------------------------

    def host_info(self) -> Host:
        if self._host is None:
            roots = [str(root) for root in self._config.storage_roots]
            disks = [str(disk) for disk in self._config.passthrough_disks]
            pci = self._config.pci_passthrough_devices
            self._host = self._call(lambda: describe_host(self._conn(), roots, disks, pci), "describe the host")
        return self._host

    def list_switches(self) -> list[VirtualSwitch]:
        networks = self._call(lambda: [network_switch(n) for n in self._conn().listAllNetworks()], "list networks")
        return networks + [bridge_switch(name) for name in sorted(self._bridges())]

    def get_switch(self, switch_id: UUID) -> VirtualSwitch:
        for switch in self.list_switches():
            if switch.id == switch_id:
                return switch
        raise NotFoundError(f"no virtual switch {switch_id}")

    # virtual machines ---------------------------------------------------

    def list_vms(self) -> list[VirtualMachine]:
        domains = self._call(lambda: self._conn().listAllDomains(), "list domains")
        return [vm for vm in (self._read_domain(d) for d in domains) if vm is not None]

    def get_vm(self, vm_id: UUID) -> VirtualMachine:
        vm = self._read(vm_id)
        if vm is None:
            raise NotFoundError(f"no virtual machine {vm_id}")
        return vm

    def define_vm(self, settings: SystemSettings, devices: Sequence[Device] = (), vm_id: UUID | None = None) -> VirtualMachine:
        with self._lock:
            self._check_open()
            vm_id = vm_id or uuid4()
            if self._read(vm_id) is not None:
                raise InvalidParameterError("id", f"a VM {vm_id} already exists")
            vm = self._images.runnable(default_vm(vm_id, settings, devices, self._mac_allocator(), self._images.check_media))
            for device in vm.network_adapters:
                self._check_references(device)
            name = self._free_domain_name(vm.name, vm_id)
            max_vcpus = self.host_info().logical_processors
            root = write_domain(
                vm, new_domain(vm, self._domain_type, name, max_vcpus), name, self._switch_source, self._images.driver_format
            )
            self._call(lambda: self._conn().defineXML(definition_xml(root)), "define the VM")
            return self._published(vm_id)

    def destroy_vm(self, vm_id: UUID) -> None:
        with self._lock:
            self._check_open()
            vm = self._idle_vm(vm_id, "destroy the VM")
            if vm.power_state not in (PowerState.OFF, PowerState.SAVED):
                raise InvalidStateError(f"cannot destroy a VM that is {vm.power_state.value}; turn it off first")
            domain = self._domain(vm_id)
            flags = libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA

            def undefine() -> None:
                try:
                    domain.undefineFlags(flags | libvirt.VIR_DOMAIN_UNDEFINE_NVRAM)
                except libvirt.libvirtError as error:
                    if error.get_error_code() != libvirt.VIR_ERR_INVALID_ARG:
                        raise
                    domain.undefineFlags(flags)  # a driver without NVRAM

            self._call(undefine, "destroy the VM")
            self._refresh(vm_id)

    def modify_vm(self, vm_id: UUID, settings: SystemSettings) -> VirtualMachine:
        with self._lock:
            self._check_open()
            vm = self._idle_vm(vm_id, "modify the VM")
            return self._apply(vm, settings_edit(vm, settings), "modify the VM")

    # devices ------------------------------------------------------------

    def add_device(self, vm_id: UUID, device: Device) -> Device:
        with self._lock:
            self._check_open()
            vm = self._idle_vm(vm_id, "add a device")
            changed, placed = add_edit(vm, device, self._mac_allocator(), self._check_references, self._images.check_media)
            stored = self._apply(vm, changed, f"add a {placed.kind.value.replace('_', ' ')}")
            return find_device(stored, placed.id)  # type: ignore[return-value]

    def modify_device(self, vm_id: UUID, device: Device) -> Device:
        with self._lock:
            self._check_open()
            vm = self._idle_vm(vm_id, "modify a device")
            changed, new = modify_edit(vm, device, self._mac_allocator(), self._check_references, self._images.check_media)
            stored = self._apply(vm, changed, f"modify the {new.kind.value.replace('_', ' ')}")
            return find_device(stored, new.id)  # type: ignore[return-value]

    def remove_device(self, vm_id: UUID, device_id: UUID) -> None:
        with self._lock:
            self._check_open()
            vm = self._idle_vm(vm_id, "remove a device")
            self._apply(vm, remove_edit(vm, device_id), "remove the device")

    # power and runtime --------------------------------------------------

    def begin_power_change(self, vm_id: UUID, request: PowerRequest) -> LibvirtTransition:
        request = power_request(request)
        with self._lock:
            self._check_open()
            vm = self._idle_vm(vm_id, request.value)
            path = plan_power_change(vm, request)
            if path.transitional is not None:
                self._busy[vm_id] = path.transitional
                self._seen[vm_id] = vm.model_copy(update={"power_state": path.transitional})
                self.events.publish(PowerStateChanged(vm_id=vm_id, old=vm.power_state, new=path.transitional, request=request))
            else:
                self._busy[vm_id] = vm.power_state
            return LibvirtTransition(
                Settlement(self._finish_transition, self._abandon_transition), self._domain, self._call,
                vm_id, request, vm.power_state, path.transitional, path.end, self._config.shutdown_timeout_seconds,
            )

    def _finish_transition(self, transition: TransitionInFlight) -> VirtualMachine:
        with self._lock:
            self._busy.pop(transition.vm_id, None)
            try:
                return self._published(transition.vm_id)
            finally:
                self._settled.notify_all()

    def _abandon_transition(self, transition: TransitionInFlight) -> None:
        """libvirt was not asked anything: reading the domain again
        publishes its state in place of the transitional one."""
        with self._lock:
            self._busy.pop(transition.vm_id, None)
            try:
                self._refresh(transition.vm_id)
            finally:
                self._settled.notify_all()

    def get_runtime(self, vm_id: UUID) -> RuntimeFigures:
        vm = self.get_vm(vm_id)
        domain = self._domain(vm_id)

        def figures() -> RuntimeFigures:
            live = etree.fromstring(domain.XMLDesc(0)) if domain.isActive() else None
            started_at = find_started_at(live) if live is not None else None
            if live is not None and started_at is None:
                started_at = self._first_seen_running.setdefault(vm_id, time.time())
            read = self._sampler.figures(vm, domain, live if live is not None else etree.Element("domain"), started_at,
                                         agent_silent=self._agents.silent(vm_id))
            return self._agents.figures(vm, read)

        return self._call(figures, "read the VM's figures")

    def vm_counters(self) -> list[VmCounters]:
        """One bulk call for every domain (see statistics.py)."""
        with self._lock:
            known = dict(self._seen)
        return self._call(lambda: all_counters(self._conn(), known, self._agents.heartbeats(known)), "read the VMs' statistics")

    # key-value pairs ----------------------------------------------------

    def add_kvp_items(self, vm_id: UUID, items: Sequence[KvpItem]) -> None:
        self._change_kvp(vm_id, lambda vm: add_items(vm, items)[0])

    def modify_kvp_items(self, vm_id: UUID, items: Sequence[KvpItem]) -> None:
        self._change_kvp(vm_id, lambda vm: modify_items(vm, items)[0])

    def remove_kvp_items(self, vm_id: UUID, names: Sequence[str]) -> None:
        self._change_kvp(vm_id, lambda vm: remove_items(vm, names)[0])

    def _change_kvp(self, vm_id: UUID, change: Callable[[VirtualMachine], tuple[KvpItem, ...]]) -> None:
        with self._lock:
            self._check_open()
            vm = self.get_vm(vm_id)
            self._apply(vm, vm.replace(kvp_items=change(vm)), "change KVP items")

    # lifecycle ----------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            deadline = time.monotonic() + CLOSE_GRACE_SECONDS
            while self._busy and time.monotonic() < deadline:
                self._settled.wait(deadline - time.monotonic())
            self._closed = True
        self._queue.put(None)
        self._dispatcher.join(timeout=CLOSE_GRACE_SECONDS)
        self._agents.close()
        self._connection.close()
        self._last_seen.close()

    def __enter__(self) -> "LibvirtBackend":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # health -------------------------------------------------------------

    @property
    def healthy(self) -> bool:
        return self._health.current.healthy

    def health(self) -> BackendHealth:
        return self._health.current

    def _health_changed(self, healthy: bool, detail: str) -> None:
        attempts = self._connection.reconnect_attempts if hasattr(self, "_connection") else 0
        if self._health.update(healthy, detail, attempts) and healthy:
            self._queue.put(RESYNC)  # catch up with what happened while we were away

    # plumbing -----------------------------------------------------------

    def _conn(self) -> libvirt.virConnect:
        return self._connection.get()

    def _domain(self, vm_id: UUID) -> libvirt.virDomain:
        return self._call(lambda: self._conn().lookupByUUID(vm_id.bytes), f"find VM {vm_id}")

    def _call(self, work: Callable[[], T], what: str) -> T:
        try:
            return work()
        except libvirt.libvirtError as error:
            raise translate(error, what, self._connection) from None

    def _check_open(self) -> None:
        if self._closed:
            raise BackendError("the libvirt backend is closed")

    def _idle_vm(self, vm_id: UUID, what: str) -> VirtualMachine:
        vm = self.get_vm(vm_id)
        if vm_id in self._busy:
            raise InvalidStateError(f"cannot {what}: the VM is {vm.power_state.value}; a transition is in progress")
        if vm_id in self._migrating:
            raise HeldError(f"cannot {what}: {self._migrating[vm_id]}")
        return vm

