"""Host PCI devices given to a VM whole (Hyper-V's Discrete Device
Assignment), checked the same way on every backend: only a device the
admin allowed (pci_passthrough_devices) that the host has, to one VM at a
time, once. The hypervisor's own refusals (a device the IOMMU cannot
isolate, say) come later, when the VM starts, as they do on Hyper-V."""

from __future__ import annotations

from collections.abc import Iterable

from cimprovider.backends.errors import InUseError, InvalidParameterError
from cimprovider.schemas.devices import PciDevice
from cimprovider.schemas.host import Host, HostPciDevice
from cimprovider.schemas.vm import VirtualMachine

# What the simulated host has in its slots: a GPU and a network adapter.
SIMULATED_DEVICES = (
    HostPciDevice(address="0000:03:00.0", vendor_id="10DE", product_id="1B80", name="NVIDIA GP104 [GeForce GTX 1080]"),
    HostPciDevice(address="0000:04:00.0", vendor_id="8086", product_id="10FB", name="Intel 82599ES 10-Gigabit SFI/SFP+"),
)


def allowed_devices(present: Iterable[HostPciDevice], allowed: Iterable[str]) -> tuple[HostPciDevice, ...]:
    """The devices the host has that the admin allowed, in address order."""
    wanted = set(allowed)
    return tuple(sorted((d for d in present if d.address in wanted), key=lambda d: d.address))


def check_pci_device(device: PciDevice, host: Host, vms: Iterable[VirtualMachine]) -> None:
    """Before `device` is given to a VM: offered by the host, held by none."""
    if device.address not in {offered.address for offered in host.pci_devices}:
        raise InvalidParameterError(
            "address", f"the host PCI device {device.address} is not one this host offers for pass-through"
            " (an administrator allows devices with --pci-passthrough)",
        )
    for vm in vms:
        if any(p.address == device.address and p.id != device.id for p in vm.pci_devices):
            raise InUseError(f"the host PCI device {device.address} is already given to virtual machine '{vm.name}'")
