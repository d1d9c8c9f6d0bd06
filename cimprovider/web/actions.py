"""What the console's buttons do, each as the Hyper-V methods a WBEM
client calls (msvm-v2.md §3–§5): power through RequestStateChange and the
shutdown component, settings through the management service's
Modify/Add/RemoveResourceSettings, media attached as a drive on a
controller slot and then its medium."""

from __future__ import annotations

import uuid

from pywbem import CIMInstance, CIMInstanceName, Uint16, Uint32, Uint64

from cimprovider.web.cim import NAMESPACE, ActionFailed, CIMClient
from cimprovider.web.hardware import DVD_DRIVE, EPASD, IDE, RASD, SASD, SCSI, SEPSD, Drive, Hardware, instance_id_in
from cimprovider.web.machines import service, vm_path, vssd_path

# action: (RequestedState, what Hyper-V Manager calls it); shut down is the
# guest's shutdown component instead.
POWER = {"start": (2, "Start"), "turnoff": (3, "Turn off"), "save": (6, "Save"), "pause": (9, "Pause"),
         "resume": (2, "Resume"), "reset": (11, "Reset")}
SLOTS = {IDE: 2, SCSI: 64}


def power(client: CIMClient, guid: str, action: str) -> str:
    if action == "shutdown":
        components = client.associators(vm_path(guid), assoc="Msvm_SystemDevice", result="Msvm_ShutdownComponent")
        if not components:
            raise ActionFailed("Shut down: the guest's shutdown service is not running (is the VM on?)")
        client.call(pathed(components[0]), "InitiateShutdown", "Shut down", Force=True, Reason="Shut down from the web console")
        return "Shut down requested"
    if action not in POWER:
        raise ActionFailed(f"no action {action!r}")
    requested, label = POWER[action]
    client.call(vm_path(guid), "RequestStateChange", label, wait=False, RequestedState=Uint16(requested))
    return f"{label} requested"


def wmi_path(path: CIMInstanceName) -> str:
    """The path text Parent and HostResource hold."""
    keys = ",".join(f'{k}="{v}"' for k, v in sorted(path.keybindings.items()))
    namespace = (path.namespace or NAMESPACE).replace("/", "\\")
    return f"\\\\{path.host or '.'}\\{namespace}:{path.classname}.{keys}"


def template(client: CIMClient, classname: str, subtype: str | None = None) -> CIMInstance:
    wanted = f"Microsoft:Hyper-V:{subtype}".lower() if subtype else None
    for instance in client.enumerate(classname):
        if str(instance["InstanceID"]).endswith("\\Default") and (
            wanted is None or str(instance.get("ResourceSubType") or "").lower() == wanted
        ):
            instance.path = None
            return instance
    raise ActionFailed(f"{classname}: the server has no default {subtype or 'setting'} template")


def modify_settings(client: CIMClient, setting: CIMInstance, what: str) -> None:
    client.call(service(client), "ModifyResourceSettings", what, ResourceSettings=[setting])


def add_setting(client: CIMClient, guid: str, setting: CIMInstance, what: str) -> CIMInstanceName:
    out = client.call(service(client), "AddResourceSettings", what, AffectedConfiguration=vssd_path(guid),
                      ResourceSettings=[setting])
    results = out.get("ResultingResourceSettings") or []
    if not results:
        raise ActionFailed(f"{what}: AddResourceSettings gave no resulting setting")
    return pathed(results[0])


def remove_settings(client: CIMClient, paths: list[CIMInstanceName], what: str) -> None:
    client.call(service(client), "RemoveResourceSettings", what, ResourceSettings=paths)


def set_memory(client: CIMClient, hardware: Hardware, startup: int, dynamic: bool, minimum: int | None,
               maximum: int | None, buffer: int | None) -> None:
    memory = hardware.memory
    memory["VirtualQuantity"] = Uint64(startup)
    memory["DynamicMemoryEnabled"] = dynamic
    if dynamic:
        memory["Reservation"] = Uint64(minimum if minimum is not None else startup)
        memory["Limit"] = Uint64(maximum if maximum is not None else 1048576)
        if buffer is not None:
            memory["TargetMemoryBuffer"] = Uint32(buffer)
    else:
        memory["Reservation"] = memory["Limit"] = Uint64(startup)
    modify_settings(client, memory, "Memory")


def set_processors(client: CIMClient, hardware: Hardware, count: int) -> None:
    hardware.processor["VirtualQuantity"] = Uint64(count)
    modify_settings(client, hardware.processor, "Processors")


def set_system(client: CIMClient, hardware: Hardware, name: str | None = None, notes: str | None = None) -> None:
    settings = hardware.settings
    if name is not None:
        settings["ElementName"] = name
    if notes is not None:
        settings["Notes"] = [notes]
    client.call(service(client), "ModifySystemSettings", "Settings", SystemSettings=settings)


def ensure_controller(client: CIMClient, guid: str, hardware: Hardware, kind: int,
                      prefer: int | None = None) -> CIMInstance:
    """A controller of `kind` with a free slot (number `prefer` first, if
    it has one); a SCSI one is added if none has."""
    controllers = sorted((c for c in hardware.controllers if int(c["ResourceType"]) == kind),
                         key=lambda c: (str(c.get("Address") or ""), str(c["InstanceID"])))
    if prefer is not None and prefer < len(controllers):
        controllers.insert(0, controllers.pop(prefer))
    for controller in controllers:
        if _free_slot(hardware, controller) is not None:
            return controller
    if kind != SCSI:
        raise ActionFailed("no free slot on the IDE controllers (two drives each)")
    setting = template(client, RASD, "Synthetic SCSI Controller")
    setting["VirtualSystemIdentifiers"] = ["{%s}" % uuid.uuid4()]
    path = add_setting(client, guid, setting, "Add SCSI controller")
    controller = client.get(path)
    hardware.controllers.append(controller)
    return controller


def attach(client: CIMClient, guid: str, hardware: Hardware, kind: int, file: str | None, bus: int,
           prefer: int | None = None) -> None:
    """A drive (disk or DVD) on the first free slot of a `bus` controller
    (number `prefer` first), holding `file` (a DVD drive may stay empty)."""
    controller = ensure_controller(client, guid, hardware, bus, prefer)
    slot = _free_slot(hardware, controller)
    drive = template(client, RASD, "Synthetic DVD Drive" if kind == DVD_DRIVE else "Synthetic Disk Drive")
    drive["Parent"] = wmi_path(pathed(controller.path))
    drive["Address"] = drive["AddressOnParent"] = str(slot)
    what = "Add DVD drive" if kind == DVD_DRIVE else "Add hard drive"
    drive_path = add_setting(client, guid, drive, what)
    hardware.drives.append(Drive(client.get(drive_path), what, "", int(slot or 0), None))
    if not file:
        return
    try:
        insert_medium(client, guid, drive_path, kind, file)
    except ActionFailed:
        # As Hyper-V Manager: no empty drive left behind when the medium is refused.
        remove_settings(client, [drive_path], "Remove the drive again")
        raise


def insert_medium(client: CIMClient, guid: str, drive: CIMInstanceName, kind: int, file: str) -> None:
    """A medium (SASD) holding `file`, in the drive."""
    medium = template(client, SASD, "Virtual CD/DVD Disk" if kind == DVD_DRIVE else "Virtual Hard Disk")
    medium["Parent"] = wmi_path(pathed(drive))
    medium["HostResource"] = [file]
    add_setting(client, guid, medium, f"Insert {file}")


def connect_adapter(client: CIMClient, guid: str, switch: CIMInstanceName | None, name: str = "Network Adapter") -> None:
    adapter = template(client, SEPSD)
    adapter["ElementName"] = name
    adapter["VirtualSystemIdentifiers"] = ["{%s}" % uuid.uuid4()]
    path = add_setting(client, guid, adapter, "Add network adapter")
    if switch is None:
        return
    connection = template(client, EPASD)
    connection["ElementName"] = name
    connection["Parent"] = wmi_path(path)
    connection["HostResource"] = [wmi_path(switch)]
    add_setting(client, guid, connection, "Connect network adapter")


def _free_slot(hardware: Hardware, controller: CIMInstance) -> int | None:
    own = str(controller["InstanceID"]).lower()
    used = {d.slot for d in hardware.drives if _parent_of(d.setting) == own}
    return next((s for s in range(SLOTS[int(controller["ResourceType"])]) if s not in used), None)


def _parent_of(setting: CIMInstance) -> str:
    return instance_id_in(setting.get("Parent"))


def pathed(path: CIMInstanceName) -> CIMInstanceName:
    found = path.copy()
    found.namespace = found.namespace or NAMESPACE
    return found
