"""What `vm list`, `vm summary` and `vm show` print of a VM, read as
Hyper-V's clients read it: GetSummaryInformation, the realized settings,
the layout of its devices and the connections of its adapters."""

from __future__ import annotations

from datetime import timedelta

import pywbem
from pywbem import CIMInstance, Uint32

from cimprovider.cli.connection import host_label
from cimprovider.cli.failures import CommandFailure, explain
from cimprovider.cli.hyperv import (
    EPASD,
    HEALTH,
    HEARTBEAT,
    MEMORY,
    PROCESSOR,
    VM,
    VSSD,
    guest_addresses,
    parse_embedded,
    service,
    settings_of,
    vssd,
)
from cimprovider.cli.output import note
from cimprovider.cli.switch import switch_names
from cimprovider.cli.vm_layout import Layout

START_ACTIONS = {"none": 2, "restart-if-running": 3, "always": 4}
STOP_ACTIONS = {"off": 2, "save": 3, "shutdown": 4}
# GetSummaryInformation: Name, ElementName, processors, state, load, memory, heartbeat, uptime, guest OS, snapshots, health.
SUMMARY_CODES = (0, 1, 4, 100, 101, 103, 104, 105, 106, 107, 109)


def summaries(conn: pywbem.WBEMConnection, vms: list[VM] | None = None) -> dict[str, CIMInstance]:
    """GetSummaryInformation for the given VMs (all if None), by VM GUID."""
    target = service(conn)
    settings = None if vms is None else [pywbem.CIMInstanceName(VSSD, {"InstanceID": f"Microsoft:{v.guid}"}, namespace=conn.default_namespace) for v in vms]
    code, out = conn.InvokeMethod("GetSummaryInformation", target, SettingData=settings,
                                  RequestedInformation=[Uint32(c) for c in SUMMARY_CODES])
    if int(code) != 0:
        raise CommandFailure(f"GetSummaryInformation returned {int(code)}")
    return {str(s["Name"]).upper(): s for s in out.get("SummaryInformation") or []}


def configured_memory(conn: pywbem.WBEMConnection) -> dict[str, int]:
    """Each VM's startup memory (MB) by GUID, from one enumeration of the
    realized memory settings (`Microsoft:<GUID>\\<device>`)."""
    found: dict[str, int] = {}
    for setting in conn.EnumerateInstances(MEMORY, PropertyList=["InstanceID", "VirtualQuantity"]):
        guid = str(setting["InstanceID"]).split(":", 1)[-1].split("\\", 1)[0].upper()
        if setting.get("VirtualQuantity") is not None:
            found.setdefault(guid, int(setting["VirtualQuantity"]))
    return found


def summary_record(vm: VM, summary: CIMInstance | None, startup_mb: int | None = None) -> dict:
    get = (lambda name: summary.get(name)) if summary is not None else (lambda name: None)
    uptime = get("UpTime")
    assigned = get("MemoryUsage")
    # Hyper-V assigns no memory to a VM that is not running; people still
    # want to see how much it has, so an off VM shows its startup memory.
    running = assigned and vm.state not in (3, 6)
    return {
        "name": vm.name,
        "state": vm.shown_state,
        "held": vm.held,
        "cpus": get("NumberOfProcessors"),
        "cpu_load": get("ProcessorLoad"),
        "memory_mb": assigned if running or startup_mb is None else startup_mb,
        "memory_assigned_mb": assigned,
        "memory_startup_mb": startup_mb,
        "uptime_seconds": timedelta(milliseconds=int(uptime)) if uptime is not None else None,
        "heartbeat": HEARTBEAT.get(int(get("Heartbeat")), str(get("Heartbeat"))) if get("Heartbeat") is not None else None,
        "health": HEALTH.get(int(vm.system.get("HealthState") or 0), None),
        "guest_os": get("GuestOperatingSystem"),
        "snapshots": len(get("Snapshots") or []),
        "id": vm.guid,
    }


def summaries_or_note(conn: pywbem.WBEMConnection, vms: list[VM], what: str) -> dict[str, CIMInstance]:
    """Summaries, or none with a word on stderr: a blank column is never silent."""
    try:
        return summaries(conn, vms)
    except pywbem.Error as error:
        why = explain(error)[0]
    except CommandFailure as error:
        why = error.format_message()
    note(f"cimprovider: {what} on {host_label(conn.url)}: could not read the VMs' summaries ({why}); "
         "CPUS, MEMORY and UPTIME are left blank")
    return {}


def describe(vm: VM) -> dict:
    settings = vssd(vm)
    memory = settings_of(vm, MEMORY)
    cpu = settings_of(vm, PROCESSOR)
    layout = Layout.read(vm)
    names = switch_names(vm.conn)
    mem = memory[0] if memory else {}
    summary = summaries_or_note(vm.conn, [vm], "vm show").get(vm.guid.upper())
    subtype = str(settings.get("VirtualSystemSubType") or "")
    notes = [n for n in settings.get("Notes") or [] if n]
    uptime = summary.get("UpTime") if summary is not None else None
    return {
        "name": vm.name,
        "id": vm.guid,
        "state": vm.shown_state,
        "held": vm.held,
        "health": HEALTH.get(int(vm.system.get("HealthState") or 0)),
        "uptime_seconds": timedelta(milliseconds=int(uptime)) if uptime is not None else None,
        "generation": 2 if subtype.endswith(":2") else 1,
        "version": settings.get("Version"),
        "processors": cpu[0].get("VirtualQuantity") if cpu else None,
        "memory_mb": mem.get("VirtualQuantity"),
        "memory_assigned_mb": summary.get("MemoryUsage") if summary is not None else None,
        "dynamic_memory": mem.get("DynamicMemoryEnabled"),
        "memory_min_mb": mem.get("Reservation"),
        "memory_max_mb": mem.get("Limit"),
        "memory_buffer_percent": mem.get("TargetMemoryBuffer"),
        "ip_addresses": guest_addresses(vm) if vm.state == 2 else [],
        "snapshots": len(summary.get("Snapshots") or []) if summary is not None else None,
        "notes": "\n".join(notes),
        "start_action": _key_of(START_ACTIONS, settings.get("AutomaticStartupAction")),
        "stop_action": _key_of(STOP_ACTIONS, settings.get("AutomaticShutdownAction")),
        "storage": [row | {"size_bytes": _disk_size(vm, row)} for row in layout.storage_rows()],
        "network_adapters": [
            {"name": a.get("ElementName"), "mac": a.get("Address"),
             "switch": _switch_of(layout.connection_of(a), names)}
            for a in layout.adapters
        ],
    }


def _disk_size(vm: VM, row: dict) -> int | None:
    """A virtual disk's size as the guest sees it (MaxInternalSize)."""
    if row["kind"] != "disk" or not row["path"]:
        return None
    images = service(vm.conn, "image")
    try:
        # The settings come back with the call itself (with 4096, its job
        # only records that the file was read).
        code, out = vm.conn.InvokeMethod("GetVirtualHardDiskSettingData", images, Path=row["path"])
    except pywbem.Error as error:
        note(f"cimprovider: vm show: size of {row['path']}: {explain(error)[0]}")
        return None
    settings = out.get("SettingData")
    if int(code) not in (0, 4096) or not settings:
        note(f"cimprovider: vm show: could not read the size of {row['path']} "
             f"(GetVirtualHardDiskSettingData returned {int(code)})")
        return None
    size = parse_embedded(settings).get("MaxInternalSize")
    return int(size) if size else None


def _key_of(table: dict[str, int], value: object) -> str | None:
    return next((k for k, v in table.items() if value is not None and v == int(value)), None)


def _switch_of(connection: CIMInstance | None, names: dict[str, str]) -> str | None:
    """The name of the switch a connection names (its GUID if the server
    does not list it); None when not connected."""
    if connection is None or int(connection.get("EnabledState") or 2) == 3:
        return None
    resources = connection.get("HostResource") or []
    guid = str(resources[0]).rsplit('Name="', 1)[-1].rstrip('"') if resources else None
    return names.get(guid.lower(), guid) if guid else None


def connected_switches(conn: pywbem.WBEMConnection) -> dict[str, list[str]]:
    """VM GUID (upper case) → the names of the switches its adapters are
    connected to, from one enumeration of the connections."""
    names = switch_names(conn)
    found: dict[str, list[str]] = {}
    for connection in conn.EnumerateInstances(EPASD):
        if not connection.get("Parent"):
            continue  # a switch's own port
        switch = _switch_of(connection, names)
        vm_guid = str(connection["InstanceID"]).split(":", 1)[-1].split("\\", 1)[0].upper()
        if switch is not None:
            found.setdefault(vm_guid, []).append(switch)
    return found
