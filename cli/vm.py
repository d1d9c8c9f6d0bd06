"""`cimprovider vm list|show|new|remove|set|summary`: VMs as Get-VM, New-VM,
Remove-VM and Set-VM know them, done the way Hyper-V clients do it
(msvm-v2.md §5 "Create a VM"): DefineSystem, then ModifyResourceSettings
for memory and processors, then a SCSI controller."""

from __future__ import annotations

import fnmatch
import re
import uuid

import click
import pywbem
from pywbem import CIMInstance, Uint16, Uint32

from cimprovider.cli.completion import vm_names
from cimprovider.cli.connection import Session, client_command
from cimprovider.cli.failures import CommandFailure, NotFound, UsageFailure, failure
from cimprovider.cli.fanout import gather
from cimprovider.cli.hyperv import (
    MEMORY,
    PROCESSOR,
    RASD,
    STATES,
    VM,
    VSSD,
    list_vms,
    require_vm,
    service,
    settings_of,
    state_name,
    template,
    vssd,
)
from cimprovider.cli.jobs import call
from cimprovider.cli.output import emit, emit_one
from cimprovider.cli.vm_records import (
    START_ACTIONS,
    STOP_ACTIONS,
    configured_memory,
    connected_switches,
    describe,
    summaries,
    summaries_or_note,
    summary_record,
)

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


def _matches(vm: VM, pattern: str | None, states: tuple[str, ...]) -> bool:
    if pattern and not (fnmatch.fnmatchcase(vm.name.lower(), pattern.lower()) or vm.guid.lower() == pattern.lower()):
        return False
    return not states or state_name(vm.state).lower() in states


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
        found, memory = summaries_or_note(conn, vms, "vm list"), configured_memory(conn)
        try:
            wired = connected_switches(conn)
        except pywbem.CIMError:
            wired = {}  # a server without switches still lists its VMs
        return [{**summary_record(v, found.get(v.guid.upper()), memory.get(v.guid.upper())),
                 "switches": ", ".join(sorted(wired.get(v.guid.upper(), [])))} for v in vms]

    gathered = gather(session, fetch)
    shown = LIST_FIELDS if session.several else LIST_FIELDS[1:]
    emit(session, gathered.rows, (*LIST_FIELDS, "memory_assigned_mb", "memory_startup_mb", "held"), "id",
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
    shown = {str(row.get(key)) for row in gathered.rows for key in ("name", "id")}
    missing = [name for name in names if name not in shown]
    if missing:
        raise NotFound(f"vm summary: no VM named {', '.join(map(repr, missing))}")


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
