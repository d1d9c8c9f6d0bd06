"""The VMs as the console lists them, read as a WBEM client reads them:
Msvm_ComputerSystem for identity and state, GetSummaryInformation for the
figures, the KVP exchange component for the guest's addresses."""

from __future__ import annotations

from dataclasses import dataclass
from xml.etree import ElementTree

from pywbem import CIMInstance, CIMInstanceName

from cimprovider.web.cim import NAMESPACE, ActionFailed, CIMClient

CS = "Msvm_ComputerSystem"
VSMS = "Msvm_VirtualSystemManagementService"
STATES = {0: "Unknown", 2: "Running", 3: "Off", 4: "Stopping", 6: "Saved", 9: "Paused", 10: "Starting",
          11: "Resetting", 32773: "Saving", 32776: "Pausing", 32777: "Resuming", 32779: "Fast saved",
          32780: "Fast saving"}
HEARTBEATS = {2: "OK", 6: "Error", 12: "No contact", 13: "Lost communication", 15: "Paused"}
MIGRATING = 32774  # OperationalStatus: an operation (a migration) holds the VM, refusing every change
# Name, ElementName, processors, state, CPU load, memory in use, heartbeat, uptime, snapshots
SUMMARY_CODES = [0, 1, 4, 100, 101, 103, 104, 105]


@dataclass(slots=True)
class VMRow:
    guid: str
    name: str
    state: int
    processors: int | None = None
    cpu_percent: int | None = None
    memory_mb: int | None = None
    uptime_ms: int | None = None
    heartbeat: int | None = None
    addresses: tuple[str, ...] = ()
    held: str = ""  # why every change is refused now (the server's words), empty while free

    @property
    def held_text(self) -> str:
        """What holds the VM: the reason's first clause (the rest says why)."""
        return self.held.split(": ")[0]

    @property
    def state_text(self) -> str:
        return STATES.get(self.state, f"State {self.state}")

    @property
    def heartbeat_text(self) -> str:
        return HEARTBEATS.get(self.heartbeat, "") if self.heartbeat is not None else ""

    @property
    def uptime_text(self) -> str:
        if not self.uptime_ms:
            return ""
        seconds = self.uptime_ms // 1000
        hours, rest = divmod(seconds, 3600)
        return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"

    def matches(self, search: str, state: str) -> bool:
        if state and self.state_text.lower() != state.lower():
            return False
        return not search or search.lower() in self.name.lower() or search.lower() in self.guid.lower()


def is_vm(system: CIMInstance) -> bool:
    return "hosting" not in str(system.get("Caption") or "").lower()


def vm_path(guid: str) -> CIMInstanceName:
    return CIMInstanceName(CS, {"CreationClassName": CS, "Name": guid}, namespace=NAMESPACE)


def vssd_path(guid: str) -> CIMInstanceName:
    return CIMInstanceName("Msvm_VirtualSystemSettingData", {"InstanceID": f"Microsoft:{guid}"}, namespace=NAMESPACE)


def service(client: CIMClient, classname: str = VSMS) -> CIMInstanceName:
    found = client.enumerate(classname)
    if not found:
        raise ActionFailed(f"{classname}: the server has no instance of it")
    path = found[0].path.copy()
    path.namespace = path.namespace or NAMESPACE
    return path


def list_vms(client: CIMClient, only: str | None = None) -> list[VMRow]:
    """Every VM (or the one of GUID `only`, read alone), by name."""
    if only is None:
        systems = [s for s in client.enumerate(CS) if is_vm(s)]
    else:
        try:
            systems = [client.get(vm_path(only))]
        except ActionFailed:
            return []  # gone, or never there
    rows = {str(s["Name"]): VMRow(str(s["Name"]), str(s.get("ElementName") or ""), int(s.get("EnabledState") or 0),
                                  held=held_reason(s)) for s in systems}
    if not rows:
        return []
    _add_summaries(client, rows, None if only is None else [vssd_path(guid) for guid in rows])
    components = (client.enumerate("Msvm_KvpExchangeComponent") if only is None else
                  client.associators(vm_path(only), assoc="Msvm_SystemDevice", result="Msvm_KvpExchangeComponent"))
    _add_addresses(rows, components)
    return sorted(rows.values(), key=lambda row: row.name.lower())


def held_reason(system: CIMInstance) -> str:
    """Why the VM refuses every change, as any WBEM client reads it: the
    StatusDescriptions entry beside OperationalStatus 32774 (empty: free)."""
    codes = [int(code) for code in system.get("OperationalStatus") or ()]
    if MIGRATING not in codes:
        return ""
    descriptions = list(system.get("StatusDescriptions") or ())
    index = codes.index(MIGRATING)
    return str(descriptions[index]) if index < len(descriptions) else "Migrating Virtual Machine"


def _add_summaries(client: CIMClient, rows: dict[str, VMRow], settings: list[CIMInstanceName] | None) -> None:
    _, out = client.invoke(service(client), "GetSummaryInformation", SettingData=settings,
                           RequestedInformation=SUMMARY_CODES)
    for summary in out.get("SummaryInformation") or []:
        row = rows.get(str(summary.get("Name")))
        if row is None:
            continue
        row.processors = _int(summary.get("NumberOfProcessors"))
        row.cpu_percent = _int(summary.get("ProcessorLoad"))
        row.memory_mb = _int(summary.get("MemoryUsage"))
        row.uptime_ms = _int(summary.get("UpTime"))
        row.heartbeat = _int(summary.get("Heartbeat"))


def _add_addresses(rows: dict[str, VMRow], components: list[CIMInstance]) -> None:
    for component in components:
        row = rows.get(str(component.get("SystemName")))
        if row is None:
            continue
        found: list[str] = []
        for item in component.get("GuestIntrinsicExchangeItems") or []:
            values = embedded_values(item)
            if values.get("Name") in ("NetworkAddressIPv4", "NetworkAddressIPv6") and values.get("Data"):
                found += [a for a in str(values["Data"]).split(";") if a]
        row.addresses = tuple(found)


def embedded_values(item: object) -> dict[str, str | None]:
    """An embedded instance's property values, parsed or as INSTANCE text."""
    if isinstance(item, CIMInstance):
        return {k: None if v is None else str(v) for k, v in item.items()}
    try:
        root = ElementTree.fromstring(str(item))
    except ElementTree.ParseError:
        return {}
    return {prop.get("NAME", ""): prop.findtext("VALUE") for prop in root if prop.get("NAME")}


def _int(value: object) -> int | None:
    return None if value is None else int(value)  # type: ignore[arg-type]
