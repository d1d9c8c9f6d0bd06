"""Making the VM the New Virtual Machine wizard describes, as a WBEM client
does (msvm-v2.md §5): DefineSystem, memory and processors through
ModifyResourceSettings, a network adapter connected to a switch, a new or
existing disk, installation media in a DVD drive. A VM left half made is
destroyed again, and the error says which step failed."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pywbem import CIMInstance, CIMInstanceName, Uint16, Uint64

from cimprovider.web.actions import attach, connect_adapter, set_memory, set_processors
from cimprovider.web.cim import NAMESPACE, ActionFailed, CIMClient
from cimprovider.web.hardware import DISK_DRIVE, DVD_DRIVE, IDE, SCSI, SWITCH, read_hardware
from cimprovider.web.machines import service

GIB = 1024**3


@dataclass(frozen=True, slots=True)
class NewVM:
    name: str
    generation: int
    memory_mb: int
    dynamic_memory: bool
    processors: int
    switch: str  # the switch's ElementName, or "" (not connected)
    disk: str  # "new" | "existing" | "none"
    new_disk_path: str = ""
    new_disk_gb: int = 0
    existing_disk: str = ""
    media: str = ""  # an ISO's path, or "" (install later)


def switch_path(client: CIMClient, name: str) -> CIMInstanceName:
    for switch in client.enumerate(SWITCH):
        if str(switch.get("ElementName")) == name:
            path = switch.path.copy()
            path.namespace = path.namespace or NAMESPACE
            return path
    raise ActionFailed(f"no virtual switch named {name!r}")


def create_disk(client: CIMClient, path: str, size_gb: int) -> None:
    """A new dynamically expanding VHDX, through CreateVirtualHardDisk."""
    settings = CIMInstance("Msvm_VirtualHardDiskSettingData", properties={
        "Path": path, "Type": Uint16(3), "Format": Uint16(3 if path.lower().endswith(".vhdx") else 2),
        "MaxInternalSize": Uint64(size_gb * GIB)})
    client.call(service(client, "Msvm_ImageManagementService"), "CreateVirtualHardDisk",
                f"New virtual hard disk {Path(path).name}", VirtualDiskSettingData=settings)


def define_vm(client: CIMClient, spec: NewVM) -> str:
    """The new VM's GUID."""
    settings = CIMInstance("Msvm_VirtualSystemSettingData", properties={
        "ElementName": spec.name, "VirtualSystemSubType": f"Microsoft:Hyper-V:SubType:{spec.generation}"})
    out = client.call(service(client), "DefineSystem", f"New virtual machine {spec.name!r}",
                      SystemSettings=settings, ResourceSettings=[], ReferenceConfiguration=None)
    created = out.get("ResultingSystem")
    if created is None:
        raise ActionFailed(f"New virtual machine {spec.name!r}: DefineSystem gave no resulting system")
    guid = str(created.keybindings["Name"])
    try:
        _furnish(client, guid, spec)
    except ActionFailed:
        path = created.copy()
        path.namespace = path.namespace or NAMESPACE
        client.call(service(client), "DestroySystem", "Remove the half-made VM", AffectedSystem=path)
        raise
    return guid


def _furnish(client: CIMClient, guid: str, spec: NewVM) -> None:
    hardware = read_hardware(client, guid)
    set_memory(client, hardware, spec.memory_mb, spec.dynamic_memory, None, None, None)
    set_processors(client, hardware, spec.processors)
    connect_adapter(client, guid, switch_path(client, spec.switch) if spec.switch else None)
    # Generation 1 boots from IDE (disk on IDE 0, DVD on IDE 1, as Hyper-V's
    # wizard places them); generation 2 has SCSI only.
    bus = IDE if spec.generation == 1 else SCSI
    hardware = read_hardware(client, guid)
    if spec.disk == "new":
        create_disk(client, spec.new_disk_path, spec.new_disk_gb)
        attach(client, guid, hardware, DISK_DRIVE, spec.new_disk_path, bus)
    elif spec.disk == "existing":
        attach(client, guid, hardware, DISK_DRIVE, spec.existing_disk, bus)
    if spec.media:
        attach(client, guid, hardware, DVD_DRIVE, spec.media, bus, prefer=1 if bus == IDE else None)
