"""What the simulated host reports about itself and the switch it starts with."""

from __future__ import annotations

import os
import socket
from importlib.metadata import PackageNotFoundError, version
from uuid import UUID

from cimprovider.backends.pci import SIMULATED_DEVICES, allowed_devices
from cimprovider.schemas.config import ServerConfig
from cimprovider.schemas.host import Host, VirtualSwitch

# Hyper-V's "Default Switch" carries this GUID on every host; scripts look for it.
DEFAULT_SWITCH = VirtualSwitch(
    id=UUID("c08cb7b8-9b3c-408e-8e30-5e16a3aeb444"),
    name="Default Switch",
    host_connected=True,
    notes="Created by the simulated host",
)

# Microsoft's OUI, as Hyper-V uses for dynamic MAC addresses.
MAC_PREFIX = "00155D"


def describe_host(config: ServerConfig) -> Host:
    try:
        memory_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // (1024 * 1024)
    except (ValueError, OSError, AttributeError):
        memory_mb = 16384
    try:
        release = version("cimprovider")
    except PackageNotFoundError:
        release = ""
    return Host(
        name=config.host_name or socket.gethostname().split(".")[0] or "localhost",
        logical_processors=os.cpu_count() or 1,
        memory_mb=max(1, memory_mb),
        # The folders disks may live in: what clients are told to use
        # (DefaultVirtualHardDiskPath) is where the server accepts them.
        storage_roots=tuple(str(root) for root in config.storage_roots),
        passthrough_disks=tuple(str(disk) for disk in config.passthrough_disks),
        pci_devices=allowed_devices(SIMULATED_DEVICES, config.pci_passthrough_devices),
        hypervisor="simulated",
        hypervisor_version=release,
    )


def mac_address(counter: int) -> str:
    return f"{MAC_PREFIX}{counter:06X}"
