"""Virtual switches on libvirt (the `NetworkBackend` contract): each a
libvirt network the server defines, starts and sets to autostart, so the
network's real state is the switch's. libvirt's network events (ours and
virsh's) are published as switch events, once each. A mixin of LibvirtBackend, using its
connection, lock and device changes (destroying a switch disconnects the
adapters on it first, as Hyper-V does)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import libvirt

from cimprovider.backends.errors import InvalidParameterError, NotFoundError
from cimprovider.backends.libvirt.networks import (
    definition,
    host_adapters,
    internal_address,
    network_name_for,
    network_switch,
    network_xml,
    reads_definition,
)
from cimprovider.backends.switch_binding import check_binding
from cimprovider.schemas.events import SwitchDefined, SwitchDestroyed, SwitchModified
from cimprovider.schemas.host import VirtualSwitch
from cimprovider.schemas.network import HostAdapter


class LibvirtSwitches:
    # Provided by LibvirtBackend.
    _lock: Any
    events: Any
    _call: Any
    _conn: Any
    _check_open: Any
    list_switches: Any
    list_vms: Any
    modify_device: Any
    _seen_switches: dict[UUID, VirtualSwitch]

    def list_host_adapters(self) -> list[HostAdapter]:
        return self._call(lambda: host_adapters(self._conn()), "list the host's interfaces")

    def define_switch(self, switch: VirtualSwitch) -> VirtualSwitch:
        with self._lock:
            self._check_open()
            existing = self.list_switches()
            if any(s.id == switch.id for s in existing):
                raise InvalidParameterError("id", f"a virtual switch {switch.id} already exists")
            check_binding(switch, self.list_host_adapters(), existing)
            defined = self._call(lambda: self._define_network(switch, self._free_network_name(switch)), "define the network")
            self._switch_changed(switch.id, defined)
            return defined

    def modify_switch(self, switch: VirtualSwitch) -> VirtualSwitch:
        with self._lock:
            self._check_open()
            network = self._network(switch.id)
            previous = network_switch(network)
            check_binding(switch, self.list_host_adapters(), self.list_switches())
            if switch.replace(active=previous.active) == previous:
                return previous
            ports_changed = (switch.external_adapter, switch.host_connected) != (previous.external_adapter, previous.host_connected)
            changed = self._call(lambda: self._redefine(network, switch, restart=ports_changed), "redefine the network")
            self._switch_changed(switch.id, changed)
            return changed

    def destroy_switch(self, switch_id: UUID) -> None:
        with self._lock:
            self._check_open()
            network = self._network(switch_id)
            for vm in self.list_vms():
                for nic in vm.network_adapters:
                    if nic.switch_id == switch_id:
                        self.modify_device(vm.id, nic.replace(switch_id=None, vlan=None, security=None, bandwidth=None))

            def undefine() -> None:
                if network.isActive():
                    network.destroy()
                network.undefine()

            self._call(undefine, "remove the network")
            self._switch_changed(switch_id, None)

    # --- following libvirt ---------------------------------------------------

    def _refresh_switch(self, switch_id: UUID) -> None:
        """A network changed (by us or virsh): publish how it differs."""
        with self._lock:
            try:
                current: VirtualSwitch | None = network_switch(self._conn().networkLookupByUUID(switch_id.bytes))
            except libvirt.libvirtError:
                current = None  # undefined, or a transient network stopped
            self._switch_changed(switch_id, current)

    def _resync_switches(self) -> None:
        with self._lock:
            current = {UUID(n.UUIDString()) for n in self._conn().listAllNetworks()}
        for switch_id in current | set(self._seen_switches):
            self._refresh_switch(switch_id)

    def _switch_changed(self, switch_id: UUID, current: VirtualSwitch | None) -> None:
        previous = self._seen_switches.pop(switch_id, None)
        if current is not None:
            self._seen_switches[switch_id] = current
        if previous is None and current is not None:
            self.events.publish(SwitchDefined(switch=current))
        elif previous is not None and current is None:
            self.events.publish(SwitchDestroyed(switch=previous))
        elif previous is not None and current is not None and previous != current:
            self.events.publish(SwitchModified(previous=previous, switch=current))

    # --- internals ---------------------------------------------------------

    def _network(self, switch_id: UUID) -> libvirt.virNetwork:
        try:
            return self._conn().networkLookupByUUID(switch_id.bytes)
        except libvirt.libvirtError:
            raise NotFoundError(f"no virtual switch {switch_id} (only libvirt networks can be changed)") from None

    def _free_network_name(self, switch: VirtualSwitch) -> str:
        """The switch's name if no network has it (libvirt names are unique,
        Hyper-V's are not), else the name with the id's first part."""
        wanted = network_name_for(switch.name)
        taken = {n.name() for n in self._conn().listAllNetworks()}
        return wanted if wanted not in taken else f"{wanted}-{str(switch.id)[:8]}"

    def _address(self, switch: VirtualSwitch) -> str | None:
        return internal_address(self._conn().listAllNetworks()) if switch.host_connected and not switch.external_adapter else None

    def _define_network(self, switch: VirtualSwitch, name: str) -> VirtualSwitch:
        network = self._conn().networkDefineXML(network_xml(switch, name, self._address(switch)))
        try:
            network.setAutostart(1)
            network.create()
        except libvirt.libvirtError:
            network.undefine()
            raise
        return network_switch(network)

    def _redefine(self, network: libvirt.virNetwork, switch: VirtualSwitch, restart: bool) -> VirtualSwitch:
        """The new definition. A change of ports takes effect only when the
        network restarts, so it restarts at once (its guests' links drop for
        that moment); so does any change on a driver that cannot show a
        definition apart from the running network."""
        ip = definition(network).find("ip")
        address = self._address(switch) if restart else (ip.get("address") if ip is not None else None)
        xml = network_xml(switch, network.name(), address)
        if restart or not reads_definition(network):
            active = network.isActive()
            if active:
                network.destroy()
            self._conn().networkDefineXML(xml)
            if active:
                network.create()
        else:
            self._conn().networkDefineXML(xml)
        return network_switch(self._conn().networkLookupByUUID(switch.id.bytes))
