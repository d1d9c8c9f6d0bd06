"""Tier 2: switches made by the backend carry real traffic. Two tiny
guests on one private switch (an isolated libvirt network: a bridge with
no host address and no forwarding) ping each other; once one guest's
adapter is moved to another private switch while both run (unplugged and
plugged in again there), they no longer can; moved back, they can again.

The networks and guests belong to a libvirtd in a network namespace this
test creates (netns_libvirtd.py), so their bridges and traffic stay there."""

from __future__ import annotations

import os
from collections.abc import Iterator
from uuid import UUID

import libvirt
import pytest

import guest
from cimprovider.backends.libvirt import LibvirtBackend
from cimprovider.schemas import ServerConfig, VirtualSwitch
from netns_libvirtd import Namespaced, namespaced  # noqa: F401 (fixture)
from qemu_host import console_size, wait_for_console

FIRST, SECOND = "10.77.0.1", "10.77.0.2"


@pytest.fixture
def backend(namespaced: Namespaced) -> Iterator[LibvirtBackend]:  # noqa: F811 (the fixture above)
    # VMs the backend defines run under TCG too (see guest.domain_xml).
    config = ServerConfig(
        backend="libvirt", libvirt_uri=namespaced.daemon.uri, data_dir=namespaced.workdir / "data",
        libvirt_domain_type="qemu", storage_roots=[namespaced.workdir],
    )
    opened = LibvirtBackend(config)
    yield opened
    opened.close()


def _guest_on(host: Namespaced, name: str, network: str, address: str, peer: str) -> libvirt.virDomain:
    name = f"cimp-t2-{os.getpid()}-{name}"
    xml = guest.domain_xml(name, host.workdir, host.initrd, network=network, address=f"{address}/24", pings=(peer,))
    domain = host.conn.defineXML(xml)
    domain.create()
    return domain


def test_guests_on_a_private_switch_reach_each_other_until_one_moves(namespaced: Namespaced, backend: LibvirtBackend) -> None:  # noqa: F811
    host = namespaced
    lan = backend.define_switch(VirtualSwitch(name="lan"))
    elsewhere = backend.define_switch(VirtualSwitch(name="elsewhere"))
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
