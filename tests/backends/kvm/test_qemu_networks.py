"""Tier 2: switches made by the backend carry real traffic. Two tiny
guests on one private switch (an isolated libvirt network: a bridge with
no host address and no forwarding, so nothing leaves it) ping each other;
once one guest's adapter is moved to another private switch while both
run (unplugged and plugged in again there), they no longer can; moved
back, they can again."""

from __future__ import annotations

from uuid import UUID

import libvirt

import guest
from cimprovider.schemas import VirtualSwitch
from qemu_host import Host, console_size, host, libvirtd_in_use, shared_host, wait_for_console  # noqa: F401 (fixtures)

FIRST, SECOND = "10.77.0.1", "10.77.0.2"


def _guest_on(host: Host, suffix: str, network: str, address: str, peer: str) -> libvirt.virDomain:
    name = f"{host.tag}-{suffix}"
    host.domains.append(name)
    xml = guest.domain_xml(name, host.workdir, host.initrd, network=network, address=f"{address}/24", pings=(peer,))
    domain = host.conn.defineXML(xml)
    domain.create()
    return domain


def test_guests_on_a_private_switch_reach_each_other_until_one_moves(host: Host) -> None:
    backend = host.backend
    lan = backend.define_switch(VirtualSwitch(name=f"{host.tag}-lan"))
    elsewhere = backend.define_switch(VirtualSwitch(name=f"{host.tag}-elsewhere"))
    try:
        network = host.conn.networkLookupByUUID(lan.id.bytes)
        assert network.isActive() and network.autostart()
        first = _guest_on(host, "ping-a", network.name(), FIRST, SECOND)
        second = _guest_on(host, "ping-b", network.name(), SECOND, FIRST)
        wait_for_console(host.console(first), rf"guest: reach {SECOND} yes")
        wait_for_console(host.console(second), rf"guest: reach {FIRST} yes")

        vm = backend.get_vm(UUID(second.UUIDString()))
        [nic] = vm.network_adapters
        assert nic.switch_id == lan.id
        moved_at = console_size(host.console(second))
        backend.modify_device(vm.id, nic.replace(switch_id=elsewhere.id))
        # The adapter was plugged in again on the other switch, and is up there.
        wait_for_console(host.console(second), r"guest: eth0 readdressed", after=moved_at)
        mark = console_size(host.console(first))
        wait_for_console(host.console(first), rf"guest: reach {SECOND} no", after=mark)
        assert backend.get_vm(vm.id).network_adapters[0].switch_id == elsewhere.id

        backend.modify_device(vm.id, nic.replace(switch_id=lan.id))
        mark = console_size(host.console(first))
        wait_for_console(host.console(first), rf"guest: reach {SECOND} yes", after=mark)
    finally:
        host.power_off_all()
        for switch in (lan, elsewhere):
            backend.destroy_switch(switch.id)
