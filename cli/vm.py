"""`cimprovider vm list|show|new|remove|set|summary`: VMs as Get-VM, New-VM,
Remove-VM and Set-VM know them, done the way Hyper-V clients do it
(msvm-v2.md §5 "Create a VM"): DefineSystem, then ModifyResourceSettings
for memory and processors, then a SCSI controller."""

from __future__ import annotations

import fnmatch
import re
import uuid
from datetime import timedelta

import click
import pywbem
from pywbem import CIMInstance, Uint16, Uint32

from cimprovider.cli.completion import vm_names
from cimprovider.cli.connection import Session, client_command, host_label
from cimprovider.cli.failures import CommandFailure, UsageFailure, explain, failure
from cimprovider.cli.fanout import gather
from cimprovider.cli.hyperv import (
    EPASD,
    HEALTH,
    HEARTBEAT,
    MEMORY,
    PROCESSOR,
    RASD,
    STATES,
    VM,
    VSSD,
    guest_addresses,
    list_vms,
    parse_embedded,
    require_vm,
    service,
    settings_of,
    state_name,
    template,
    vssd,
)
from cimprovider.cli.jobs import call
from cimprovider.cli.output import emit, emit_one, note
from cimprovider.cli.switch import switch_names
from cimprovider.cli.vm_layout import Layout

START_ACTIONS = {"none": 2, "restart-if-running": 3, "always": 4}
STOP_ACTIONS = {"off": 2, "save": 3, "shutdown": 4}
# GetSummaryInformation: Name, ElementName, processors, state, load, memory, heartbeat, uptime, guest OS, snapshots, health.
SUMMARY_CODES = (0, 1, 4, 100, 101, 103, 104, 105, 106, 107, 109)
LIST_FIELDS = ("host", "name", "state", "cpus", "memory_mb", "uptime_seconds", "switches", "id")


def megabytes(text: str) -> int:
    """`2048`, `2048M`, `2G`, `2GB`, `1T`: a size in MB (the unit of MemorySettingData)."""
    match = re.fullmatch(r"\s*(\d+)\s*([mgt]?)b?\s*", text.lower())
    if not match:
        raise click.BadParameter(f"{text!r} is not a size such as 2048, 512M or 4G")
    return int(match.group(1)) * {"": 1, "m": 1, "g": 1024, "t": 1024 * 1024}[match.group(2)]


class Size(click.ParamType):
    name = "SIZE"

    def convert(self, value, param, ctx):  # noqa: ANN001 - click's signature
        return value if isinstance(value, int) else megabytes(str(value))


@click.group()
def vm() -> None:
    """Virtual machines: list, create, change, power, devices, KVP."""


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
        "state": state_name(vm.state),
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


def _matches(vm: VM, pattern: str | None, states: tuple[str, ...]) -> bool:
    if pattern and not (fnmatch.fnmatchcase(vm.name.lower(), pattern.lower()) or vm.guid.lower() == pattern.lower()):
        return False
    return not states or state_name(vm.state).lower() in states


def _summaries_or_note(conn: pywbem.WBEMConnection, vms: list[VM], what: str) -> dict[str, CIMInstance]:
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


@vm.command("list")
@click.argument("pattern", required=False)
@click.option("--state", "states", multiple=True, metavar="STATE",
              type=click.Choice(sorted({s.lower() for s in STATES.values()}), case_sensitive=False),
              help="Only VMs in this state, e.g. running or off (repeatable).")
@client_command()
def list_command(session: Session, pattern: str | None, states: tuple[str, ...]) -> None:
    """List VMs whose name matches PATTERN (shell wildcards: 'web-*'), of
    every --server at once (a HOST column when several)."""
    wanted = tuple(s.lower() for s in states)

    def fetch(conn: pywbem.WBEMConnection) -> list[dict]:
        vms = [v for v in list_vms(conn) if _matches(v, pattern, wanted)]
        if not vms:
            return []
        found, memory = _summaries_or_note(conn, vms, "vm list"), configured_memory(conn)
        try:
            wired = connected_switches(conn)
        except pywbem.CIMError:
            wired = {}  # a server without switches still lists its VMs
        return [{**summary_record(v, found.get(v.guid.upper()), memory.get(v.guid.upper())),
                 "switches": ", ".join(sorted(wired.get(v.guid.upper(), [])))} for v in vms]

    gathered = gather(session, fetch)
    shown = LIST_FIELDS if session.several else LIST_FIELDS[1:]
    emit(session, gathered.rows, (*LIST_FIELDS, "memory_assigned_mb", "memory_startup_mb"), "id",
         table_columns=shown, answered=gathered.answered)
    gathered.finish("vm list")


@vm.command("summary")
@click.argument("names", nargs=-1, shell_complete=vm_names)
@client_command()
def summary_command(session: Session, names: tuple[str, ...]) -> None:
    """GetSummaryInformation for NAMES (default: every VM), of every --server."""
    fields = ("host", "name", "state", "cpus", "cpu_load", "memory_mb", "heartbeat", "uptime_seconds",
              "guest_os", "snapshots", "health", "id")

    def fetch(conn: pywbem.WBEMConnection) -> list[dict]:
        vms = [v for v in list_vms(conn) if not names or v.name in names or v.guid in names]
        found = summaries(conn, vms) if vms else {}
        return [summary_record(v, found.get(v.guid.upper())) for v in vms]

    gathered = gather(session, fetch)
    emit(session, gathered.rows, fields, "name", table_columns=fields if session.several else fields[1:-1], answered=gathered.answered)
    gathered.finish("vm summary")


def describe(vm: VM) -> dict:
    settings = vssd(vm)
    memory = settings_of(vm, MEMORY)
    cpu = settings_of(vm, PROCESSOR)
    layout = Layout.read(vm)
    names = switch_names(vm.conn)
    mem = memory[0] if memory else {}
    summary = _summaries_or_note(vm.conn, [vm], "vm show").get(vm.guid.upper())
    subtype = str(settings.get("VirtualSystemSubType") or "")
    notes = [n for n in settings.get("Notes") or [] if n]
    uptime = summary.get("UpTime") if summary is not None else None
    return {
        "name": vm.name,
        "id": vm.guid,
        "state": state_name(vm.state),
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


@vm.command("show")
@click.argument("name", shell_complete=vm_names)
@client_command()
def show(session: Session, name: str) -> None:
    """Everything about one VM: state, memory, processors, storage, network."""
    emit_one(session, describe(require_vm(session.single(), name)), "name")


def modify_resource(session: Session, conn: pywbem.WBEMConnection, setting: CIMInstance, what: str, final: bool) -> None:
    call(session, conn, service(conn), "ModifyResourceSettings", what, final=final,
         ResourceSettings=[setting.tocimxmlstr()])


def apply_memory(session: Session, vm: VM, final: bool, *, startup: int | None = None, dynamic: bool | None = None,
                 minimum: int | None = None, maximum: int | None = None, buffer: int | None = None) -> bool:
    if all(v is None for v in (startup, dynamic, minimum, maximum, buffer)):
        return False
    memory = settings_of(vm, MEMORY)[0]
    if dynamic is not None:
        memory["DynamicMemoryEnabled"] = dynamic
    if startup is not None:
        memory["VirtualQuantity"] = pywbem.Uint64(startup)
    dynamic_now = bool(memory.get("DynamicMemoryEnabled"))
    if not dynamic_now and startup is not None:
        memory["Reservation"] = memory["Limit"] = pywbem.Uint64(startup)  # static: one size
    if minimum is not None:
        memory["Reservation"] = pywbem.Uint64(minimum)
    if maximum is not None:
        memory["Limit"] = pywbem.Uint64(maximum)
    if buffer is not None:
        memory["TargetMemoryBuffer"] = Uint32(buffer)
    modify_resource(session, vm.conn, memory, f"vm {vm.name!r}: memory", final)
    return True


def apply_processors(session: Session, vm: VM, count: int | None, final: bool) -> bool:
    if count is None:
        return False
    cpu = settings_of(vm, PROCESSOR)[0]
    cpu["VirtualQuantity"] = pywbem.Uint64(count)
    modify_resource(session, vm.conn, cpu, f"vm {vm.name!r}: processors", final)
    return True


memory_options = [
    click.option("--memory", type=Size(), help="Startup memory (MB, or with M/G).", metavar="SIZE"),
    click.option("--dynamic-memory/--static-memory", "dynamic", default=None, help="Dynamic memory on or off."),
    click.option("--min-memory", type=Size(), metavar="SIZE", help="Dynamic memory minimum."),
    click.option("--max-memory", type=Size(), metavar="SIZE", help="Dynamic memory maximum."),
    click.option("--memory-buffer", type=click.IntRange(5, 2000), help="Dynamic memory buffer, percent."),
    click.option("--processors", type=click.IntRange(1, 240), help="Number of virtual processors."),
    click.option("--notes", help="Free text kept with the VM."),
]


def with_options(options):  # noqa: ANN001, ANN201 - a decorator of decorators
    def decorate(function):  # noqa: ANN001, ANN202
        for option in reversed(options):
            function = option(function)
        return function

    return decorate


@vm.command("new")
@click.argument("name")
@with_options(memory_options)
@click.option("--generation", type=click.Choice(["1", "2"]), default="1", show_default=True)
@client_command()
def new(session: Session, name: str, memory: int | None, dynamic: bool | None, min_memory: int | None,
        max_memory: int | None, memory_buffer: int | None, processors: int | None, notes: str | None,
        generation: str) -> None:
    """Create a VM called NAME (off), with a SCSI controller for disks."""
    conn = session.single()
    settings = CIMInstance(VSSD, properties={
        "ElementName": name,
        "Notes": [notes or ""],
        "VirtualSystemSubType": f"Microsoft:Hyper-V:SubType:{generation}",
    })
    out = call(session, conn, service(conn), "DefineSystem", f"vm new {name!r}", final=False,
               SystemSettings=settings.tocimxmlstr(), ResourceSettings=[], ReferenceConfiguration=None)
    path = out.get("ResultingSystem")
    if path is None:
        raise CommandFailure(f"vm new {name!r}: DefineSystem gave no ResultingSystem")
    path.namespace = path.namespace or conn.default_namespace
    created = VM(conn, conn.GetInstance(path))
    try:
        apply_memory(session, created, False, startup=memory, dynamic=dynamic, minimum=min_memory, maximum=max_memory, buffer=memory_buffer)
        apply_processors(session, created, processors, False)
        controller = template(conn, RASD, "Synthetic SCSI Controller")
        controller["VirtualSystemIdentifiers"] = ["{%s}" % uuid.uuid4()]
        call(session, conn, service(conn), "AddResourceSettings", f"vm new {name!r}: SCSI controller", final=False,
             AffectedConfiguration=pywbem.CIMInstanceName(VSSD, {"InstanceID": f"Microsoft:{created.guid}"}, namespace=conn.default_namespace),
             ResourceSettings=[controller.tocimxmlstr()])
    except BaseException:
        # A half-made VM is worse than none: take it away and report why.
        conn.InvokeMethod("DestroySystem", service(conn), AffectedSystem=created.path)
        raise
    emit_one(session, {"name": name, "id": created.guid, "state": state_name(created.refresh().state)}, "id")


@vm.command("set")
@click.argument("name", shell_complete=vm_names)
@with_options(memory_options)
@click.option("--rename", "new_name", help="A new name for the VM.")
@click.option("--start-action", type=click.Choice(list(START_ACTIONS)), help="What the host does with the VM when it starts.")
@click.option("--stop-action", type=click.Choice(list(STOP_ACTIONS)), help="What the host does with the VM when it stops.")
@client_command()
def set_command(session: Session, name: str, memory: int | None, dynamic: bool | None, min_memory: int | None,
                max_memory: int | None, memory_buffer: int | None, processors: int | None, notes: str | None,
                new_name: str | None, start_action: str | None, stop_action: str | None) -> None:
    """Change a VM's memory, processors, notes, name or automatic actions."""
    target = require_vm(session.single(), name)
    changed = apply_memory(session, target, True, startup=memory, dynamic=dynamic, minimum=min_memory, maximum=max_memory, buffer=memory_buffer)
    changed |= apply_processors(session, target, processors, True)
    if any(v is not None for v in (notes, new_name, start_action, stop_action)):
        settings = vssd(target)
        if notes is not None:
            settings["Notes"] = [notes]
        if new_name is not None:
            settings["ElementName"] = new_name
        if start_action is not None:
            settings["AutomaticStartupAction"] = Uint16(START_ACTIONS[start_action])
        if stop_action is not None:
            settings["AutomaticShutdownAction"] = Uint16(STOP_ACTIONS[stop_action])
        call(session, target.conn, service(target.conn), "ModifySystemSettings", f"vm set {name!r}",
             SystemSettings=settings.tocimxmlstr())
        changed = True
    if not changed:
        raise UsageFailure("vm set: nothing to change; give at least one option (see --help)")
    emit_one(session, describe(target.refresh()), "name")


@vm.command("remove")
@click.argument("names", nargs=-1, required=True, shell_complete=vm_names)
@click.option("--force", is_flag=True, help="Turn a VM that is not off off first.")
@client_command()
def remove(session: Session, names: tuple[str, ...], force: bool) -> None:
    """Delete VMs (their configuration; disk files stay)."""
    conn = session.single()
    for name in names:
        target = require_vm(conn, name)
        if target.state not in (3, 6):
            if not force:
                raise CommandFailure(f"vm remove {name!r}: the VM is {state_name(target.state)}; stop it first or give --force")
            call(session, conn, target.path, "RequestStateChange", f"vm remove {name!r}: turn off", final=False,
                 RequestedState=Uint16(3))
        try:
            call(session, conn, service(conn), "DestroySystem", f"vm remove {name!r}", AffectedSystem=target.path)
        except pywbem.Error as error:
            raise failure(f"vm remove {name!r}", error) from None
        if not session.quiet:
            click.echo(f"removed {name} ({target.guid})")
        else:
            click.echo(target.guid)
