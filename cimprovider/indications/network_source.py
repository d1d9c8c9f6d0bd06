"""Virtual networking's side of indications: switch events and VM adapter
changes turned into CIM_InstCreation, CIM_InstModification and
CIM_InstDeletion of the switches, their settings, their own port
allocations, every switch port and the ports' feature settings, rendered
with the networking providers' value functions.

As for the VMs (model_source), the translation runs in the publisher's
thread and never queries the backend: it keeps a mirror of the switches
and of each VM's adapters, seeded when the server is assembled and moved
by the events. A VM adapter's own allocation (EPASD) is the VM model's
indication; this source adds what hangs off the switch."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from typing import Any
from uuid import UUID

from cimprovider.backends import BackendError
from cimprovider.events import EventBus, Subscription
from cimprovider.indications.instance_views import Values, View, differences, keyed
from cimprovider.indications.model_source import ModelView, moved
from cimprovider.indications.service import IndicationService
from cimprovider.providers.virtualization.model import SWITCH, Virtualization
from cimprovider.providers.virtualization.network import identity
from cimprovider.providers.virtualization.network.feature_settings import port_features, switch_features
from cimprovider.providers.virtualization.network.ports import host_ports, internal_port_values, switch_port_values, vm_ports
from cimprovider.providers.virtualization.network.switches import (
    host_port_allocation_values,
    switch_settings_values,
    switch_values,
)
from cimprovider.schemas.events import (
    DeviceAdded,
    DeviceModified,
    DeviceRemoved,
    EventBase,
    SwitchDefined,
    SwitchDestroyed,
    SwitchModified,
    VmDefined,
    VmDestroyed,
)
from cimprovider.schemas.host import Host, VirtualSwitch
from cimprovider.schemas.vm import VirtualMachine

log = logging.getLogger(__name__)

SWITCH_EVENTS = (SwitchDefined, SwitchModified, SwitchDestroyed)
VM_EVENTS = (VmDefined, VmDestroyed, DeviceAdded, DeviceRemoved, DeviceModified)


class NetworkView(ModelView):
    host_path = Virtualization.host_path
    service_path = Virtualization.service_path


class NetworkIndications:
    def __init__(self, virt: Virtualization, service: IndicationService, host: Host) -> None:
        self.view = NetworkView(virt, host)
        self.renderer = virt.renderer
        self.service = service
        self._lock = threading.Lock()
        self._switches: dict[UUID, VirtualSwitch] = {}
        self._vms: dict[UUID, VirtualMachine] = {}
        self._subscription: Subscription | None = None

    def attach(self, bus: EventBus, switches: Iterable[VirtualSwitch], vms: Iterable[VirtualMachine]) -> None:
        self._subscription = bus.subscribe(self.on_event, (*SWITCH_EVENTS, *VM_EVENTS))
        with self._lock:
            for switch in switches:
                self._switches.setdefault(switch.id, switch)
            for vm in vms:
                self._vms.setdefault(vm.id, vm)

    def close(self) -> None:
        if self._subscription is not None:
            self._subscription.close()

    def on_event(self, event: EventBase) -> None:
        with self._lock:
            wanted = self.service.has_subscribers
            if isinstance(event, SWITCH_EVENTS):
                before, after = self._switch_moved(event)
                old = self._switch_view(before) if wanted and before else {}
                new = self._switch_view(after) if wanted and after else {}
            else:
                previous, current = self._vm_moved(event)
                if not wanted:
                    return
                old = self._vm_view(previous) if previous else {}
                new = self._vm_view(current) if current else {}
            if wanted:
                for change in differences(self.service, self.renderer, old, new):
                    self.service.publish(change)

    # --- the mirror ---------------------------------------------------------------

    def _switch_moved(self, event: EventBase) -> tuple[VirtualSwitch | None, VirtualSwitch | None]:
        switch: VirtualSwitch = event.switch  # type: ignore[attr-defined]
        before = self._switches.get(switch.id)
        if isinstance(event, SwitchDestroyed):
            self._switches.pop(switch.id, None)
            return before, None
        self._switches[switch.id] = switch
        return before, switch

    def _vm_moved(self, event: EventBase) -> tuple[VirtualMachine | None, VirtualMachine | None]:
        if isinstance(event, (VmDefined, VmDestroyed)):
            before = self._vms.get(event.vm.id)
            after = event.vm if isinstance(event, VmDefined) else None
            vm_id = event.vm.id
        else:
            vm_id = event.vm_id  # type: ignore[attr-defined]
            before = self._vms.get(vm_id)
            if before is None:
                log.debug("%s for VM %s, which was never seen defined", type(event).__name__, vm_id)
                return None, None
            after = moved(before, event)
        if after is None:
            self._vms.pop(vm_id, None)
        else:
            self._vms[vm_id] = after
        return before, after

    # --- instances, before and after ------------------------------------------------

    def _vm_view(self, vm: VirtualMachine) -> View:
        elements: list[tuple[str, Values]] = []
        for port in vm_ports(vm, self._switches):
            elements.append((identity.SWITCH_PORT, switch_port_values(port)))
            elements.extend((setting.kind.classname, setting.values()) for setting in port_features(port))
        return keyed(self.renderer, elements)

    def _switch_view(self, switch: VirtualSwitch) -> View:
        model: Any = self.view
        elements: list[tuple[str, Values]] = [
            (SWITCH, switch_values(switch)),
            (identity.SWITCH_SETTINGS, switch_settings_values(switch)),
        ]
        if switch.host_connected:
            elements.append((identity.INTERNAL_PORT, internal_port_values(model, switch)))
        for port in host_ports(switch):
            elements.append((identity.EPASD, host_port_allocation_values(model, port)))
            elements.append((identity.SWITCH_PORT, switch_port_values(port)))
        elements.extend((setting.kind.classname, setting.values()) for setting in switch_features(switch))
        table = {switch.id: switch}
        for vm in self._vms.values():
            elements.extend((identity.SWITCH_PORT, switch_port_values(port)) for port in vm_ports(vm, table))
        return keyed(self.renderer, elements)


def raise_network_indications(virt: Virtualization, service: IndicationService) -> NetworkIndications:
    """Raise indications for switch and port changes. Reads the backend
    once, here, while the server is assembled."""
    source = NetworkIndications(virt, service, virt.backend.host_info())
    try:
        switches, vms = virt.backend.list_switches(), virt.backend.list_vms()
    except BackendError as error:
        log.warning("network indications start without the existing switches: %s", error)
        switches, vms = [], []
    source.attach(virt.backend.events, switches, vms)
    return source
