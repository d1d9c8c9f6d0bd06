"""Host PCI devices given to VMs, below the CIM model: on libvirt a
`<hostdev mode='subsystem' type='pci' managed='yes'>` with the device's
address, read back as the VM's device (libvirt's test driver on a host
description listing PCI node devices); on the simulated host, kept across
a restart. Only a device the admin allowed, and one VM at a time."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from cimprovider.backends import InUseError, InvalidParameterError
from cimprovider.backends.libvirt import LibvirtBackend
from cimprovider.backends.simulated import SimulatedBackend
from cimprovider.schemas import ServerConfig, SystemSettings
from cimprovider.schemas.devices import PciDevice
from tests.integration.model.test_pci_passthrough import HOST_XML


def test_libvirt_writes_a_managed_hostdev_and_reads_it_back(tmp_path: Path) -> None:
    host = tmp_path / "host.xml"
    host.write_text(HOST_XML)
    backend = LibvirtBackend(ServerConfig(data_dir=tmp_path / "data", backend="libvirt", libvirt_uri=f"test://{host}",
                                          pci_passthrough_devices=["0000:04:00.0"]))  # fmt: skip
    try:
        [offered] = backend.host_info().pci_devices
        assert (offered.address, offered.vendor_id, offered.product_id) == ("0000:04:00.0", "8086", "10FB")
        vm = backend.define_vm(SystemSettings(name="hostdev"))
        given = backend.add_device(vm.id, PciDevice(address="0000:04:00.0"))
        xml = etree.fromstring(backend._conn().lookupByUUID(vm.id.bytes).XMLDesc(0))  # what libvirt holds
        [hostdev] = xml.findall("devices/hostdev")
        assert (hostdev.get("mode"), hostdev.get("type"), hostdev.get("managed")) == ("subsystem", "pci", "yes")
        address = hostdev.find("source/address")
        assert [int(address.get(k), 16) for k in ("domain", "bus", "slot", "function")] == [0, 4, 0, 0]
        assert backend.get_vm(vm.id).pci_devices == (given,)
        with pytest.raises(InvalidParameterError, match="0000:03:00.0 is not one this host offers"):
            backend.add_device(vm.id, PciDevice(address="0000:03:00.0"))
        backend.remove_device(vm.id, given.id)
        assert etree.fromstring(backend._conn().lookupByUUID(vm.id.bytes).XMLDesc(0)).findall("devices/hostdev") == []
    finally:
        backend.close()


def test_the_simulated_host_keeps_a_given_device_across_a_restart(tmp_path: Path) -> None:
    config = ServerConfig(data_dir=tmp_path, pci_passthrough_devices=["0000:03:00.0", "0000:04:00.0"])
    backend = SimulatedBackend(config)
    vm = backend.define_vm(SystemSettings(name="gpu"))
    given = backend.add_device(vm.id, PciDevice(address="0000:03:00.0"))
    other = backend.define_vm(SystemSettings(name="other"))
    with pytest.raises(InUseError, match="already given to virtual machine 'gpu'"):
        backend.add_device(other.id, PciDevice(address="0000:03:00.0"))
    backend.close()
    reopened = SimulatedBackend(config)
    try:
        assert [d.address for d in reopened.host_info().pci_devices] == ["0000:03:00.0", "0000:04:00.0"]
        assert reopened.get_vm(vm.id).pci_devices == (given,)
    finally:
        reopened.close()
