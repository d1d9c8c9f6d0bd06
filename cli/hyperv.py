"""The client's view of the Hyper-V v2 model, as os-win and Microsoft's
samples find things (msvm-v2.md §5): the singleton services, VMs by name or
GUID, their settings by InstanceID prefix, the templates ending in
`\\Default`, and the path text that Parent and HostResource hold."""

from __future__ import annotations

from dataclasses import dataclass

import pywbem
from pywbem import CIMInstance, CIMInstanceName

from cimprovider.cli.failures import HYPERVISOR_UNREACHABLE, LOST_COMMUNICATION, UNREACHABLE, CommandFailure, NotFound, failure
from cimprovider.cli.value_names import Labelled

CS = "Msvm_ComputerSystem"
VSSD = "Msvm_VirtualSystemSettingData"
RASD = "Msvm_ResourceAllocationSettingData"
SASD = "Msvm_StorageAllocationSettingData"
SEPSD = "Msvm_SyntheticEthernetPortSettingData"
EPASD = "Msvm_EthernetPortAllocationSettingData"
MEMORY = "Msvm_MemorySettingData"
PROCESSOR = "Msvm_ProcessorSettingData"
REALIZED = "Microsoft:Hyper-V:System:Realized"
SUBTYPE = "Microsoft:Hyper-V:"
MIGRATING = 32774  # OperationalStatus: an operation holds the VM, refusing every change

SERVICES = {
    "vsms": "Msvm_VirtualSystemManagementService",
    "snapshot": "Msvm_VirtualSystemSnapshotService",
    "image": "Msvm_ImageManagementService",
    "switch": "Msvm_VirtualEthernetSwitchManagementService",
}

STATES = {
    0: "Unknown", 1: "Other", 2: "Running", 3: "Off", 4: "Stopping", 6: "Saved", 9: "Paused", 10: "Starting",
    11: "Reset", 32773: "Saving", 32776: "Pausing", 32777: "Resuming", 32779: "FastSaved", 32780: "FastSaving",
}
HEALTH = {5: "OK", 10: "Degraded", 15: "Minor Failure", 20: "Major Failure", 25: "Critical Failure", 30: "Non-recoverable Error"}
HEARTBEAT = {2: "OK", 6: "Error", 12: "No Contact", 13: "Lost Communication", 15: "Paused"}


def state_name(value: object) -> str:
    return STATES.get(int(value), str(value)) if value is not None else ""


@dataclass
class VM:
    """A VM found on one server."""

    conn: pywbem.WBEMConnection
    system: CIMInstance

    @property
    def path(self) -> CIMInstanceName:
        return self.system.path

    @property
    def name(self) -> str:
        return str(self.system["ElementName"])

    @property
    def guid(self) -> str:
        return str(self.system["Name"])

    @property
    def state(self) -> int:
        return int(self.system["EnabledState"] or 0)

    @property
    def held(self) -> str | None:
        """Why the server refuses every change to the VM now, as
        Msvm_ComputerSystem says it (the StatusDescriptions entry of
        OperationalStatus 32774, Migrating Virtual Machine); None while free."""
        codes = [int(code) for code in self.system.get("OperationalStatus") or ()]
        if MIGRATING not in codes:
            return None
        descriptions = list(self.system.get("StatusDescriptions") or ())
        index = codes.index(MIGRATING)
        return str(descriptions[index]) if index < len(descriptions) else "Migrating Virtual Machine"

    @property
    def shown_state(self) -> str:
        """The state, which a table follows with why the VM is held: the
        reason's first clause (what holds it; the rest says why)."""
        name, held = state_name(self.state), self.held
        return name if held is None else Labelled(name, f"{name} (held: {held.split(': ')[0]})")

    def refresh(self) -> VM:
        self.system = self.conn.GetInstance(self.path)
        return self


def service(conn: pywbem.WBEMConnection, kind: str = "vsms") -> CIMInstanceName:
    classname = SERVICES[kind]
    try:
        found = conn.EnumerateInstanceNames(classname)
    except pywbem.CIMError as error:
        raise failure(f"{classname}", error) from None
    if not found:
        raise CommandFailure(f"{classname}: the server has no instance of it (not implemented there yet)")
    return found[0]


def is_vm(system: CIMInstance) -> bool:
    """The host is an Msvm_ComputerSystem too; VMs have a GUID Name and the
    caption "Virtual Machine" (the host's is "Hosting Computer System")."""
    caption = str(system.get("Caption") or "")
    return "hosting" not in caption.lower() and len(str(system["Name"])) == 36


def list_vms(conn: pywbem.WBEMConnection) -> list[VM]:
    systems = conn.EnumerateInstances(CS)
    check_hypervisor(conn, [s for s in systems if not is_vm(s)])
    return sorted((VM(conn, s) for s in systems if is_vm(s)), key=lambda vm: vm.name.lower())


def check_hypervisor(conn: pywbem.WBEMConnection, hosts: list[CIMInstance]) -> None:
    """While the server cannot reach its hypervisor it lists the host alone,
    in Lost Communication: no VMs then means "cannot tell", not "none"."""
    for host in hosts:
        if LOST_COMMUNICATION in [int(code) for code in host.get("OperationalStatus") or ()]:
            why = "; ".join(str(text) for text in host.get("StatusDescriptions") or ()) or "lost communication"
            raise CommandFailure(f"{conn.url}: {HYPERVISOR_UNREACHABLE}: {why}", UNREACHABLE)


def find_vm(conn: pywbem.WBEMConnection, name: str) -> VM | None:
    """By ElementName (what people call a VM) or by its GUID."""
    matches = [vm for vm in list_vms(conn) if vm.name == name or vm.guid.lower() == name.lower()]
    if len(matches) > 1:
        raise CommandFailure(f"vm {name!r}: {len(matches)} VMs have that name; use its ID ({', '.join(m.guid for m in matches)})")
    return matches[0] if matches else None


def require_vm(conn: pywbem.WBEMConnection, name: str) -> VM:
    vm = find_vm(conn, name)
    if vm is None:
        raise NotFound(f"vm {name!r}: no such virtual machine on {conn.url}")
    return vm


def vssd_path(vm: VM) -> CIMInstanceName:
    return CIMInstanceName(VSSD, {"InstanceID": f"Microsoft:{vm.guid}"}, namespace=vm.path.namespace)


def vssd(vm: VM) -> CIMInstance:
    """The VM's realized settings, through SettingsDefineState as clients do."""
    found = vm.conn.Associators(vm.path, AssocClass="Msvm_SettingsDefineState", ResultClass=VSSD)
    realized = [s for s in found if s.get("VirtualSystemType") in (None, REALIZED)]
    if not realized:
        return vm.conn.GetInstance(vssd_path(vm))
    return realized[0]


def settings_of(vm: VM, classname: str) -> list[CIMInstance]:
    """`SELECT * FROM <cls> WHERE InstanceID LIKE 'Microsoft:<GUID>%'`."""
    prefix = f"Microsoft:{vm.guid}".lower()
    return [i for i in vm.conn.EnumerateInstances(classname) if str(i["InstanceID"]).lower().startswith(prefix)]


def template(conn: pywbem.WBEMConnection, classname: str, subtype: str | None = None) -> CIMInstance:
    """The default setting of a kind: InstanceID ending in `\\Default`."""
    wanted = f"{SUBTYPE}{subtype}".lower() if subtype else None
    for instance in conn.EnumerateInstances(classname):
        if str(instance["InstanceID"]).endswith("\\Default") and (
            wanted is None or str(instance.get("ResourceSubType") or "").lower() == wanted
        ):
            return instance
    raise CommandFailure(f"{classname}: the server has no default {subtype or 'setting'} template")


def wmi_path(path: CIMInstanceName) -> str:
    """The path text Parent and HostResource hold: `\\\\HOST\\ns:Class.k="v"`."""
    keys = ",".join(f'{k}="{v}"' for k, v in sorted(path.keybindings.items()))
    namespace = (path.namespace or "root/virtualization/v2").replace("/", "\\")
    return f"\\\\{path.host or '.'}\\{namespace}:{path.classname}.{keys}"


def instance_id_in(text: str | None) -> str | None:
    """The InstanceID a Parent path text names (raw or escaped backslashes)."""
    if not text or 'InstanceID="' not in text:
        return None
    value = text.split('InstanceID="', 1)[1].rsplit('"', 1)[0]
    return value.replace("\\\\", "\\")


def setting_path(conn: pywbem.WBEMConnection, instance: CIMInstance) -> CIMInstanceName:
    path = instance.path.copy()
    path.namespace = path.namespace or conn.default_namespace
    return path


def parse_embedded(text: object) -> dict[str, str | None]:
    """The properties of an embedded INSTANCE string (KVP items, VHD
    settings) as clients read them: every PROPERTY's VALUE text."""
    if isinstance(text, CIMInstance):
        return {k: (None if v is None else str(v)) for k, v in text.items()}
    from xml.etree import ElementTree

    root = ElementTree.fromstring(str(text))
    values: dict[str, str | None] = {}
    for prop in root:
        name = prop.get("NAME")
        if name is None:
            continue
        if prop.tag == "PROPERTY.ARRAY":
            values[name] = ",".join(v.text or "" for v in prop.iter("VALUE"))
        else:
            values[name] = prop.findtext("VALUE")
    return values


def guest_addresses(vm: VM) -> list[str]:
    """The guest's IP addresses, from the intrinsic KVP items its
    integration services report (NetworkAddressIPv4/IPv6, `;`-separated)."""
    addresses: list[str] = []
    components = vm.conn.Associators(vm.path, AssocClass="Msvm_SystemDevice", ResultClass="Msvm_KvpExchangeComponent")
    for component in components:
        for text in component.get("GuestIntrinsicExchangeItems") or []:
            item = parse_embedded(text)
            if item.get("Name") in ("NetworkAddressIPv4", "NetworkAddressIPv6") and item.get("Data"):
                addresses += [a for a in str(item["Data"]).split(";") if a]
    return addresses
