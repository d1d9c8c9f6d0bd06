"""Tier 2: a VM connected to a libvirt network that is defined but not
running starts on real QEMU: the backend starts the network first (libvirt
alone refuses: "network 'x' is not active"), as a Hyper-V switch is there
whenever a VM needs it."""

from __future__ import annotations

import os
from uuid import UUID

from cimprovider.backends import change_power_state
from cimprovider.schemas import NetworkAdapter, PowerRequest, PowerState
from qemu_host import Host, host, libvirtd_in_use, shared_host, wait_for_console  # noqa: F401 (fixtures)


def test_starting_a_guest_starts_its_inactive_network(host: Host) -> None:
    name = f"{host.tag}-idle"
    network = host.conn.networkDefineXML(f"<network><name>{name}</name><bridge name='cimi{os.getpid() % 100000}'/></network>")
    try:
        domain = host.define_guest("idle-net")
        vm_id, backend = UUID(domain.UUIDString()), host.backend
        backend.add_device(vm_id, NetworkAdapter(switch_id=UUID(network.UUIDString())))
        assert not network.isActive()
        assert change_power_state(backend, vm_id, PowerRequest.START).power_state is PowerState.RUNNING
        assert network.isActive()
        wait_for_console(host.console(domain), r"nets=[^\n]*eth0")
    finally:
        host.power_off_all()
        if network.isActive():
            network.destroy()
        network.undefine()
