"""Rendering a VM's Msvm_ComputerSystem again soon after it changes, on a
thread of its own, so that enumerations find every VM already built.

A bus event drops the VM's cached instance (model.py); left alone, the
next read pays for the render — for thousands of VMs defined or changed
since the last read, most of that read's time. The warmer renders in the
background instead, some 50 ms after the change: reads stay cheap
and the render never runs in the backend's publishing thread. A VM that
changes again meanwhile is rendered once (the queue holds ids, not
events), and an instance built from a state that is already stale is
not kept (Virtualization.remember checks)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from uuid import UUID

from cimprovider.events import EventBus
from cimprovider.schemas.events import (
    DeviceAdded,
    DeviceModified,
    DeviceRemoved,
    EventBase,
    KvpChanged,
    PowerStateChanged,
    VmDefined,
    VmModified,
)
from cimprovider.schemas.vm import VirtualMachine

log = logging.getLogger(__name__)

SETTLE_SECONDS = 0.05

# Events after which a VM's instance must be built again (a destroyed VM
# has nothing to build).
_CHANGES = (VmDefined, VmModified, PowerStateChanged, DeviceAdded, DeviceRemoved, DeviceModified, KvpChanged)


class InstanceWarmer:
    def __init__(
        self,
        bus: EventBus,
        find_vm: Callable[[UUID], VirtualMachine | None],
        render: Callable[[VirtualMachine], object],
    ) -> None:
        self._find_vm = find_vm
        self._render = render
        self._pending: dict[UUID, None] = {}
        self._wake = threading.Condition()
        self._stopped = False
        self._subscription = bus.subscribe(self._on_event, _CHANGES)
        self._thread = threading.Thread(target=self._run, name="instance-warmer", daemon=True)
        self._thread.start()

    def warm(self, vm_ids: Iterable[UUID]) -> None:
        """Build these VMs' instances too: at start, every VM the backend
        already has. Built before the first enumeration, the kept instances
        sit together in memory; built during it, they would sit among the
        enumeration's garbage and pin its memory (some 50 MB at 10,000 VMs)."""
        with self._wake:
            self._pending.update(dict.fromkeys(vm_ids))
            self._wake.notify()

    def _on_event(self, event: EventBase) -> None:
        vm_id = getattr(event, "vm_id", None) or getattr(getattr(event, "vm", None), "id", None)
        if vm_id is None:
            return
        self.warm((vm_id,))

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._pending and not self._stopped:
                    self._wake.wait()
                if self._stopped:
                    return
            # Let the request that made the change finish first: woken at
            # once, the render would compete with it for the interpreter
            # lock (DefineSystem took twice as long). Changes that come
            # meanwhile join the batch.
            time.sleep(SETTLE_SECONDS)
            with self._wake:
                if self._stopped:
                    return
                batch, self._pending = list(self._pending), {}
            for vm_id in batch:
                self._warm(vm_id)

    def _warm(self, vm_id: UUID) -> None:
        try:
            vm = self._find_vm(vm_id)
            if vm is not None:
                self._render(vm)
        except Exception:  # noqa: BLE001 - a read will build it and report any fault
            log.debug("could not prepare the instance of VM %s", vm_id, exc_info=True)

    def close(self) -> None:
        self._subscription.close()
        with self._wake:
            self._stopped = True
            self._wake.notify()
        self._thread.join(timeout=5)
