"""Tier 2: connecting a running guest's network adapter to a switch, as a
user does on Hyper-V. libvirt cannot change a NIC's kind of connection in
place ("unable to change config on 'network' network type"): the backend
unplugs it and plugs it in again, with its MAC address, and the guest sees
it come back."""

from __future__ import annotations

from uuid import UUID

from lxml import etree

from cimprovider.backends import change_power_state
from cimprovider.schemas import NetworkAdapter, PowerRequest
from qemu_host import Host, console_size, host, libvirtd_in_use, shared_host, wait_for_console  # noqa: F401 (fixtures)


def test_a_running_guests_unconnected_nic_is_connected_to_a_switch(host: Host) -> None:
    domain = host.define_guest("nic")
    vm_id, backend, console = UUID(domain.UUIDString()), host.backend, host.console(domain)
    change_power_state(backend, vm_id, PowerRequest.START)
    wait_for_console(console, r"guest: ready")
    mark = console_size(console)
    nic = backend.add_device(vm_id, NetworkAdapter())  # on no switch
    wait_for_console(console, r"nets=[^\n]*eth0", after=mark, timeout=60)

    switch = next(s for s in backend.list_switches() if s.name == host.tag)
    mark = console_size(console)
    connected = backend.modify_device(vm_id, nic.replace(switch_id=switch.id))
    assert connected.switch_id == switch.id and connected.mac_address == nic.mac_address
    interface = etree.fromstring(domain.XMLDesc(0)).find("devices/interface")
    assert interface.get("type") == "network" and interface.find("source").get("network") == host.tag
    assert backend.get_vm(vm_id).network_adapters == (connected,)
    wait_for_console(console, r"nets=[^\n]*eth0", after=mark, timeout=60)  # gone, then back
