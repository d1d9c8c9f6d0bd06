"""Virtual switches for the simulated host (the `NetworkBackend`
contract): one JSON document per switch in the store, and two pretended
host adapters to bind external switches to. A mixin of SimulatedBackend,
using its lock, store and VMs, so destroying a switch and disconnecting
the adapters on it is one transaction."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from uuid import UUID

from cimprovider.backends.errors import InvalidParameterError, NotFoundError
from cimprovider.backends.switch_binding import check_binding
from cimprovider.schemas.devices import NetworkAdapter
from cimprovider.schemas.events import DeviceModified, EventBase, SwitchDefined, SwitchDestroyed, SwitchModified
from cimprovider.schemas.host import VirtualSwitch
from cimprovider.schemas.network import HostAdapter
from cimprovider.schemas.vm import VirtualMachine

if TYPE_CHECKING:
    from cimprovider.backends.simulated.store import SimulatedStore

# Two adapters, so a test can bind one switch to each and see the second
# binding of one refused; Microsoft's OUI with a host-side suffix.
HOST_ADAPTERS = (
    HostAdapter(name="eth0", mac_address="00155D00FF01", description="Simulated Ethernet Adapter #1"),
    HostAdapter(name="eth1", mac_address="00155D00FF02", description="Simulated Ethernet Adapter #2", speed_bps=10_000_000_000),
)


class NetworkOperations:
    # Provided by SimulatedBackend.
    _lock: Any
    _store: "SimulatedStore"
    _vms: dict[UUID, VirtualMachine]
    _busy: dict[UUID, Any]
    _started_at: dict[UUID, float]
    _switches: dict[UUID, VirtualSwitch]
    events: Any
    _check_open: Any

    def list_host_adapters(self) -> list[HostAdapter]:
        return list(HOST_ADAPTERS)

    def define_switch(self, switch: VirtualSwitch) -> VirtualSwitch:
        with self._lock:
            self._check_open()
            if switch.id in self._switches:
                raise InvalidParameterError("id", f"a virtual switch {switch.id} already exists")
            self._check_adapter(switch)
            with self._store.transaction() as db:
                self._store.put_switch(db, str(switch.id), switch.model_dump_json())
            self._switches[switch.id] = switch
            self.events.publish(SwitchDefined(switch=switch))
            return switch

    def modify_switch(self, switch: VirtualSwitch) -> VirtualSwitch:
        with self._lock:
            self._check_open()
            previous = self._existing_switch(switch.id)
            self._check_adapter(switch)
            if switch == previous:
                return previous
            with self._store.transaction() as db:
                self._store.put_switch(db, str(switch.id), switch.model_dump_json())
            self._switches[switch.id] = switch
            self.events.publish(SwitchModified(previous=previous, switch=switch))
            return switch

    def destroy_switch(self, switch_id: UUID) -> None:
        with self._lock:
            self._check_open()
            switch = self._existing_switch(switch_id)
            changed: list[tuple[VirtualMachine, list[EventBase]]] = []
            for vm in self._vms.values():
                events: list[EventBase] = []
                adapters = []
                for nic in vm.network_adapters:
                    if nic.switch_id == switch_id:
                        loose = _disconnected(nic)
                        events.append(DeviceModified(vm_id=vm.id, previous=nic, device=loose))
                        nic = loose
                    adapters.append(nic)
                if events:
                    changed.append((vm.model_copy(update={"network_adapters": tuple(adapters)}), events))
            with self._store.transaction() as db:
                self._store.delete_switch(db, str(switch_id))
                for vm, _events in changed:
                    stored = vm.model_copy(update={"power_state": self._busy[vm.id]}) if vm.id in self._busy else vm
                    self._store.put_vm(db, str(vm.id), stored.model_dump_json(), self._started_at.get(vm.id))
            del self._switches[switch_id]
            for vm, events in changed:
                self._vms[vm.id] = vm
                for event in events:
                    self.events.publish(event)
            self.events.publish(SwitchDestroyed(switch=switch))

    def _existing_switch(self, switch_id: UUID) -> VirtualSwitch:
        try:
            return self._switches[switch_id]
        except KeyError:
            raise NotFoundError(f"no virtual switch {switch_id}") from None

    def _check_adapter(self, switch: VirtualSwitch) -> None:
        check_binding(switch, HOST_ADAPTERS, self._switches.values())


def _disconnected(nic: NetworkAdapter) -> NetworkAdapter:
    """The adapter once its switch is gone: no connection, so no port
    features either (they belonged to the port)."""
    return nic.replace(switch_id=None, vlan=None, security=None, bandwidth=None)
