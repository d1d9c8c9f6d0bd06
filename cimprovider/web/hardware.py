"""A VM's settings as Hyper-V's settings dialog shows them, read through
the model: the VSSD (name, generation, notes), memory, processors,
controllers with their drives and media, network adapters with their
switch, and the integration services. Settings are found as clients find
them: InstanceID LIKE 'Microsoft:<VMGUID>%' (msvm-v2.md §2)."""

from __future__ import annotations

from dataclasses import dataclass, field

from pywbem import CIMInstance

from cimprovider.web.cim import CIMClient
from cimprovider.web.machines import vssd_path

RASD = "Msvm_ResourceAllocationSettingData"
SASD = "Msvm_StorageAllocationSettingData"
SEPSD = "Msvm_SyntheticEthernetPortSettingData"
EPASD = "Msvm_EthernetPortAllocationSettingData"
MEMORY = "Msvm_MemorySettingData"
PROCESSOR = "Msvm_ProcessorSettingData"
SWITCH = "Msvm_VirtualEthernetSwitch"
INTEGRATION = ("Msvm_ShutdownComponentSettingData", "Msvm_HeartbeatComponentSettingData",
               "Msvm_TimeSyncComponentSettingData", "Msvm_VssComponentSettingData",
               "Msvm_KvpExchangeComponentSettingData")
IDE, SCSI, DVD_DRIVE, DISK_DRIVE = 5, 6, 16, 17


@dataclass
class Drive:
    setting: CIMInstance
    kind: str  # "Hard drive" | "DVD drive"
    controller: str  # "SCSI 0" / "IDE 1"
    slot: int
    medium: CIMInstance | None

    @property
    def file(self) -> str:
        return str((self.medium.get("HostResource") or [""])[0]) if self.medium is not None else ""


@dataclass
class Adapter:
    setting: CIMInstance
    connection: CIMInstance | None
    switch_name: str


@dataclass
class Hardware:
    settings: CIMInstance
    memory: CIMInstance
    processor: CIMInstance
    controllers: list[CIMInstance] = field(default_factory=list)
    drives: list[Drive] = field(default_factory=list)
    adapters: list[Adapter] = field(default_factory=list)
    integration: list[CIMInstance] = field(default_factory=list)

    @property
    def generation(self) -> int:
        return 2 if str(self.settings.get("VirtualSystemSubType") or "").endswith("2") else 1

    @property
    def notes(self) -> str:
        return "\n".join(str(n) for n in self.settings.get("Notes") or [])


def settings_of(client: CIMClient, guid: str, classname: str) -> list[CIMInstance]:
    prefix = f"Microsoft:{guid}".lower()
    return [i for i in client.enumerate(classname) if str(i["InstanceID"]).lower().startswith(prefix)]


def instance_id_in(text: object) -> str:
    """The InstanceID a Parent path text names (raw or escaped backslashes)."""
    value = str(text or "")
    if 'InstanceID="' not in value:
        return ""
    return value.split('InstanceID="', 1)[1].rsplit('"', 1)[0].replace("\\\\", "\\").lower()


def read_hardware(client: CIMClient, guid: str) -> Hardware:
    settings = client.get(vssd_path(guid))
    hardware = Hardware(settings, settings_of(client, guid, MEMORY)[0], settings_of(client, guid, PROCESSOR)[0])
    rasds = settings_of(client, guid, RASD)
    hardware.controllers = [r for r in rasds if int(r.get("ResourceType") or 0) in (IDE, SCSI)]
    media = settings_of(client, guid, SASD)
    numbers = _controller_names(hardware.controllers)
    for drive in (r for r in rasds if int(r.get("ResourceType") or 0) in (DVD_DRIVE, DISK_DRIVE)):
        own = str(drive["InstanceID"]).lower()
        medium = next((m for m in media if instance_id_in(m.get("Parent")) == own), None)
        kind = "DVD drive" if int(drive["ResourceType"]) == DVD_DRIVE else "Hard drive"
        hardware.drives.append(Drive(drive, kind, numbers.get(instance_id_in(drive.get("Parent")), "?"),
                                     int(drive.get("AddressOnParent") or 0), medium))
    hardware.drives.sort(key=lambda d: (d.controller, d.slot))
    switches = {str(s.path.keybindings["Name"]).lower(): str(s.get("ElementName")) for s in client.enumerate(SWITCH)}
    connections = settings_of(client, guid, EPASD)
    for adapter in settings_of(client, guid, SEPSD):
        own = str(adapter["InstanceID"]).lower()
        connection = next((c for c in connections if instance_id_in(c.get("Parent")) == own), None)
        hardware.adapters.append(Adapter(adapter, connection, _switch_name(connection, switches)))
    for classname in INTEGRATION:
        hardware.integration += settings_of(client, guid, classname)
    return hardware


def _controller_names(controllers: list[CIMInstance]) -> dict[str, str]:
    names: dict[str, str] = {}
    for kind, label in ((IDE, "IDE"), (SCSI, "SCSI")):
        found = sorted((c for c in controllers if int(c["ResourceType"]) == kind),
                       key=lambda c: (str(c.get("Address") or ""), str(c["InstanceID"])))
        for number, controller in enumerate(found):
            names[str(controller["InstanceID"]).lower()] = f"{label} {number}"
    return names


def _switch_name(connection: CIMInstance | None, switches: dict[str, str]) -> str:
    if connection is None or int(connection.get("EnabledState") or 2) == 3:
        return ""
    for resource in connection.get("HostResource") or []:
        text = str(resource).lower()
        for name, label in switches.items():
            if name in text:
                return label
    return ""
