"""The resource kinds the model knows: class, ResourceType, ResourceSubType,
and the stable GUIDs that name their templates, capabilities and primordial
pools (msvm-v2.md §2 table)."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID, uuid5

from cimprovider.schemas.devices import INTEGRATION_SERVICE_IDS, MEMORY_ID, PROCESSOR_ID
from cimprovider.schemas.integration import IntegrationServiceKind

RASD = "Msvm_ResourceAllocationSettingData"
MEMORY_SD = "Msvm_MemorySettingData"
PROCESSOR_SD = "Msvm_ProcessorSettingData"
SASD = "Msvm_StorageAllocationSettingData"
SEPSD = "Msvm_SyntheticEthernetPortSettingData"
EMULATED_SD = "Msvm_EmulatedEthernetPortSettingData"
EPASD = "Msvm_EthernetPortAllocationSettingData"
SERIAL_SD = "Msvm_SerialPortSettingData"
PCI_SD = "Msvm_PciExpressSettingData"
DISPLAY_SD = "Msvm_SyntheticDisplayControllerSettingData"

_NAMESPACE = UUID("6b1e0c52-3c57-4d8e-9d0a-1f1d3b7c0e11")  # for our own stable GUIDs


@dataclass(frozen=True, slots=True)
class ResourceKind:
    key: str
    classname: str
    resource_type: int
    subtype_name: str
    guid: UUID  # templates and allocation capabilities
    pool_guid: UUID
    pool_class: str = "Msvm_ResourcePool"
    allocation_units: str = "count"

    @property
    def subtype(self) -> str:
        return f"Microsoft:Hyper-V:{self.subtype_name}"


def _kind(key: str, classname: str, rt: int, subtype: str, units: str = "count") -> ResourceKind:
    guid = uuid5(_NAMESPACE, subtype)
    return ResourceKind(key, classname, rt, subtype, guid, uuid5(_NAMESPACE, "pool:" + subtype), allocation_units=units)


PROCESSOR = ResourceKind(
    "processor", PROCESSOR_SD, 3, "Processor", PROCESSOR_ID,
    UUID("B637F347-6A0E-4DEC-AF52-BD70CB80A21D"), "Msvm_ProcessorPool", "percent / 1000",
)
MEMORY = ResourceKind(
    "memory", MEMORY_SD, 4, "Memory", MEMORY_ID,
    UUID("4764334E-E001-4176-82EE-5594EC9B530E"), allocation_units="byte * 2^20",
)
IDE_CONTROLLER = _kind("ide_controller", RASD, 5, "Emulated IDE Controller", "controllers")
SCSI_CONTROLLER = _kind("scsi_controller", RASD, 6, "Synthetic SCSI Controller", "controllers")
DISK_DRIVE = _kind("disk_drive", RASD, 17, "Synthetic Disk Drive", "disk drives")
# A host disk given whole (pass-through); HostResource names the host's Msvm_DiskDrive.
PHYSICAL_DISK = _kind("physical_disk", RASD, 17, "Physical Disk Drive", "disk drives")
DVD_DRIVE = _kind("dvd_drive", RASD, 16, "Synthetic DVD Drive", "optical drives")
HARD_DISK = _kind("hard_disk", SASD, 31, "Virtual Hard Disk", "byte")
DVD_DISK = _kind("dvd_disk", SASD, 31, "Virtual CD/DVD Disk", "byte")
SYNTHETIC_NIC = _kind("synthetic_nic", SEPSD, 10, "Synthetic Ethernet Port")
EMULATED_NIC = _kind("emulated_nic", EMULATED_SD, 10, "Emulated Ethernet Port")
CONNECTION = _kind("connection", EPASD, 33, "Ethernet Connection")
SERIAL_PORT = _kind("serial_port", SERIAL_SD, 21, "Serial Port")
# A host PCI device given whole (discrete device assignment); HostResource names the host's Msvm_PciExpress.
PCI_EXPRESS = _kind("pci_express", PCI_SD, 32769, "Virtual Pci Express Port")
# Every VM's one display controller: synthetic on generation 2, S3 on generation 1.
SYNTHETIC_DISPLAY = _kind("synthetic_display", DISPLAY_SD, 24, "Synthetic Display Controller")
S3_DISPLAY = _kind("s3_display", DISPLAY_SD, 24, "S3 Display Controller")
DISPLAY_KINDS = (SYNTHETIC_DISPLAY, S3_DISPLAY)

KINDS: tuple[ResourceKind, ...] = (
    PROCESSOR, MEMORY, IDE_CONTROLLER, SCSI_CONTROLLER, DISK_DRIVE, PHYSICAL_DISK, DVD_DRIVE,
    HARD_DISK, DVD_DISK, SYNTHETIC_NIC, EMULATED_NIC, CONNECTION, SERIAL_PORT, PCI_EXPRESS, *DISPLAY_KINDS,
)
BY_SUBTYPE = {kind.subtype.lower(): kind for kind in KINDS}
BY_GUID = {kind.guid: kind for kind in KINDS}
BY_POOL = {kind.pool_guid: kind for kind in KINDS}

# Integration components' settings: one per VM each, never added or
# removed, so no templates, pools or capabilities (not in KINDS). Hyper-V
# reports them as ResourceType 1 (Other) and names the component in
# OtherResourceType; the GUID is the component's, as in its InstanceID.
SHUTDOWN_SD = "Msvm_ShutdownComponentSettingData"
HEARTBEAT_SD = "Msvm_HeartbeatComponentSettingData"
TIME_SYNC_SD = "Msvm_TimeSyncComponentSettingData"
VSS_SD = "Msvm_VssComponentSettingData"
KVP_SD = "Msvm_KvpExchangeComponentSettingData"


def _component(key: str, classname: str, name: str) -> ResourceKind:
    service = IntegrationServiceKind(key)
    guid = INTEGRATION_SERVICE_IDS[service]
    return ResourceKind(key, classname, 1, f"{name} Component", guid, uuid5(_NAMESPACE, "pool:" + name))


SHUTDOWN_COMPONENT = _component("shutdown", SHUTDOWN_SD, "Shutdown")
HEARTBEAT_COMPONENT = _component("heartbeat", HEARTBEAT_SD, "Heartbeat")
TIME_SYNC_COMPONENT = _component("time_sync", TIME_SYNC_SD, "Time Synchronization")
VSS_COMPONENT = _component("vss", VSS_SD, "VSS")
KVP_COMPONENT = _component("kvp_exchange", KVP_SD, "Key-Value Pair Exchange")
COMPONENT_KINDS: tuple[ResourceKind, ...] = (
    SHUTDOWN_COMPONENT, HEARTBEAT_COMPONENT, TIME_SYNC_COMPONENT, VSS_COMPONENT, KVP_COMPONENT,
)
BY_SERVICE = {IntegrationServiceKind(kind.key): kind for kind in COMPONENT_KINDS}

# Per-VM setting classes (and the template classes): every sibling under
# CIM_ResourceAllocationSettingData we serve.
SETTING_CLASSES = (RASD, MEMORY_SD, PROCESSOR_SD, SASD, SEPSD, EMULATED_SD, EPASD, SERIAL_SD, PCI_SD, DISPLAY_SD,
                   *(kind.classname for kind in COMPONENT_KINDS))


# The classes that belong to some kinds only (RASD serves several, and
# clients may use it or a CIM parent for any).
_OWN_CLASSES = frozenset(name.lower() for name in SETTING_CLASSES if name != RASD)


def another_kinds_class(kind: ResourceKind, classname: str | None) -> bool:
    """Whether `classname` is the settings class of other kinds than
    `kind` (a processor's settings sent as Msvm_MemorySettingData)."""
    return bool(classname) and classname.lower() != kind.classname.lower() and classname.lower() in _OWN_CLASSES  # type: ignore[union-attr]


def kind_for(subtype: str | None, resource_type: int | None, classname: str | None) -> ResourceKind | None:
    """What a client's RASD describes: by subtype, else by type and class;
    None for a subtype this host does not know (it is not guessed from
    the type: the client asked for something else)."""
    if subtype:
        return BY_SUBTYPE.get(subtype.lower())
    candidates = [k for k in KINDS if k.resource_type == resource_type]
    if classname:
        narrowed = [k for k in candidates if k.classname.lower() == classname.lower()]
        candidates = narrowed or candidates
    return candidates[0] if candidates else None
