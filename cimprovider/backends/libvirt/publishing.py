"""Reading VMs from libvirt and publishing what changed (a mixin of
LibvirtBackend, using its connection, lock and state): each change —
ours, virsh's, the guest's — reaches the bus once, in order, as the
difference from what was last published (see `changes`), and that is kept
(`last_seen`) so a restarted server publishes what changed while it was
down. libvirt's events only say which domain or network to read again;
they are queued and followed on one thread."""

from __future__ import annotations

import logging
import queue
import threading
from typing import Any
from uuid import UUID

import libvirt
from lxml import etree

from cimprovider.backends.errors import BackendError, NotFoundError
from cimprovider.backends.libvirt.changes import vm_events
from cimprovider.backends.libvirt.condition import condition_of
from cimprovider.backends.libvirt.connection import NETWORK_EVENT, LibvirtConnection
from cimprovider.backends.libvirt.domain_read import power_state, read_vm
from cimprovider.backends.libvirt.errors import translate
from cimprovider.backends.libvirt.last_seen import LastSeen
from cimprovider.events import EventBus
from cimprovider.schemas.events import BackendHealthChanged
from cimprovider.schemas.power import PowerState
from cimprovider.schemas.vm import VirtualMachine

log = logging.getLogger(__name__)

INACTIVE = libvirt.VIR_DOMAIN_XML_INACTIVE
ACTIVE_STATES = {PowerState.RUNNING, PowerState.PAUSED}
RESYNC = "*"  # on the event queue: re-read every domain (after a reconnect)


class LibvirtPublishing:
    # Provided by LibvirtBackend.
    events: EventBus
    _lock: threading.RLock
    _busy: dict[UUID, PowerState]
    _arriving: set[UUID]
    _migrating: dict[UUID, str]
    _seen: dict[UUID, VirtualMachine]
    _first_seen_running: dict[UUID, float]
    _last_seen: LastSeen
    _queue: queue.Queue[str | BackendHealthChanged | None]
    _connection: LibvirtConnection
    _conn: Any
    list_vms: Any
    _refresh_switch: Any
    _resync_switches: Any

    def _read(self, vm_id: UUID) -> VirtualMachine | None:
        try:
            domain = self._conn().lookupByUUID(vm_id.bytes)
        except libvirt.libvirtError as error:
            if error.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                return None
            raise translate(error, "look up the VM", self._connection) from None
        return self._read_domain(domain)

    def _read_domain(self, domain: libvirt.virDomain) -> VirtualMachine | None:
        if self._arriving and UUID(bytes=domain.UUID()) in self._arriving:
            return None  # still being made (see LibvirtHandover.adopt_vm): not this host's yet
        try:
            raw = domain.state()
            state = power_state(domain, raw)
            live = etree.fromstring(domain.XMLDesc(0))
            config = etree.fromstring(domain.XMLDesc(INACTIVE)) if domain.isPersistent() else live
            networks = {n.name(): UUID(n.UUIDString()) for n in self._conn().listAllNetworks()}
        except libvirt.libvirtError as error:
            if error.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                return None  # undefined while we read it
            raise translate(error, "read the VM", self._connection) from None
        vm = read_vm(live, config, state, networks)
        condition = condition_of(*raw)
        if condition != vm.condition:
            vm = vm.model_copy(update={"condition": condition})
        held = self._migrating.get(vm.id, "")
        if held:
            vm = vm.model_copy(update={"held": held})
        if state not in ACTIVE_STATES:
            self._first_seen_running.pop(vm.id, None)
        busy = self._busy.get(vm.id)
        return vm.model_copy(update={"power_state": busy}) if busy is not None and busy.is_transitional else vm

    def _refresh(self, vm_id: UUID) -> VirtualMachine | None:
        """Read the VM and publish how it differs from what was last published."""
        with self._lock:
            vm = self._read(vm_id)
            previous = self._seen.pop(vm_id, None)
            if vm is not None:
                self._seen[vm_id] = vm
            events = vm_events(previous, vm)
            if events:
                self._last_seen.keep(vm_id, vm)
            for event in events:
                self.events.publish(event)
            return vm

    def last_published(self) -> list[VirtualMachine]:
        """The VMs as the bus was last told, before `catch_up`: as they were
        when the server last ran, if it did."""
        with self._lock:
            return list(self._seen.values())

    def catch_up(self) -> None:
        """Publish what changed in libvirt since the bus was last told
        (while the server was down), once subscribers are listening."""
        self._queue.put(RESYNC)

    def _published(self, vm_id: UUID) -> VirtualMachine:
        vm = self._refresh(vm_id)
        if vm is None:
            raise NotFoundError(f"no virtual machine {vm_id}")
        return vm

    def _dispatch(self) -> None:
        while (item := self._queue.get()) is not None:
            try:
                if isinstance(item, BackendHealthChanged):
                    self.events.publish(item)
                elif item == RESYNC:
                    self._resync()
                elif item.startswith(NETWORK_EVENT):
                    self._refresh_switch(UUID(item.removeprefix(NETWORK_EVENT)))
                else:
                    self._refresh(UUID(item))
            except BackendError as error:
                log.info("could not follow a libvirt change: %s", error)
            except Exception:
                log.exception("following a libvirt change failed")

    def _resync(self) -> None:
        with self._lock:
            current = {vm.id for vm in self.list_vms()}
            for vm_id in current | set(self._seen):
                self._refresh(vm_id)
        self._resync_switches()
