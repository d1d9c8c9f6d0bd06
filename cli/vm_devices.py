"""`cimprovider vm disk add|remove`, `vm dvd insert|eject`, `vm nic
add|remove|connect`: the attach sequences of msvm-v2.md §5 — a drive on a
controller slot, then its medium (SASD) pointing at the drive; a network
adapter (SEPSD), then its connection (EPASD) pointing at a switch."""

from __future__ import annotations

import uuid

import click
from pywbem import CIMInstance, CIMInstanceName, Uint16

from cimprovider.cli.completion import vm_names
from cimprovider.cli.connection import Session, client_command
from cimprovider.cli.failures import CommandFailure, NotFound, UsageFailure
from cimprovider.cli.hyperv import EPASD, RASD, SASD, SEPSD, VM, require_vm, service, setting_path, template, vssd_path, wmi_path
from cimprovider.cli.jobs import call
from cimprovider.cli.switch import require_switch, set_vlan
from cimprovider.cli.vm import vm
from cimprovider.cli.vm_layout import DISK_DRIVE, DVD_DRIVE, IDE, SCSI, Layout


def add_settings(session: Session, target: VM, affected: CIMInstanceName, setting: CIMInstance, what: str,
                 final: bool = False) -> CIMInstanceName:
    out = call(session, target.conn, service(target.conn), "AddResourceSettings", what, final=final,
               AffectedConfiguration=affected, ResourceSettings=[setting.tocimxmlstr()])
    results = out.get("ResultingResourceSettings") or []
    if not results:
        raise CommandFailure(f"{what}: AddResourceSettings gave no ResultingResourceSettings")
    path = results[0]
    path.namespace = path.namespace or target.conn.default_namespace
    return path


def remove_settings(session: Session, target: VM, paths: list[CIMInstanceName], what: str, final: bool = True) -> None:
    call(session, target.conn, service(target.conn), "RemoveResourceSettings", what, final=final, ResourceSettings=paths)


def pick_slot(layout: Layout, bus: str, number: int | None, slot: int | None, what: str) -> tuple[CIMInstance, int]:
    """The controller and slot to use: the one given, or the first free one."""
    kind = IDE if bus == "ide" else SCSI
    controllers = layout.controllers_of(kind)
    if not controllers:
        raise CommandFailure(f"{what}: the VM has no {bus.upper()} controller")
    candidates = [controllers[number]] if number is not None and number < len(controllers) else controllers
    if number is not None and number >= len(controllers):
        raise CommandFailure(f"{what}: the VM has {len(controllers)} {bus.upper()} controller(s); there is no number {number}")
    for controller in candidates:
        if slot is not None:
            if any(int(d.get("AddressOnParent") or 0) == slot for d in layout.drives_on(controller)):
                raise CommandFailure(f"{what}: {bus}{controllers.index(controller)} slot {slot} is taken")
            return controller, slot
        free = layout.free_slot(controller)
        if free is not None:
            return controller, free
    raise CommandFailure(f"{what}: no free slot on the {bus.upper()} controllers")


def attach(session: Session, target: VM, drive_kind: str, medium_kind: str, path: str, bus: str,
           number: int | None, slot: int | None, what: str) -> CIMInstanceName:
    layout = Layout.read(target)
    controller, slot = pick_slot(layout, bus, number, slot, what)
    drive = template(target.conn, RASD, drive_kind)
    drive["Parent"] = wmi_path(setting_path(target.conn, controller))
    drive["Address"] = drive["AddressOnParent"] = str(slot)
    drive_path = add_settings(session, target, target.path, drive, f"{what}: drive")
    medium = template(target.conn, SASD, medium_kind)
    medium["Parent"] = wmi_path(drive_path)
    medium["HostResource"] = [path]
    try:
        return add_settings(session, target, target.path, medium, what)
    except BaseException:
        # As os-win does: no empty drive left behind when the medium is refused.
        remove_settings(session, target, [drive_path], f"{what}: removing the drive again", final=False)
        raise


location_options = [
    click.option("--controller", "bus", type=click.Choice(["scsi", "ide"]), default=None, help="Controller type.  [default: scsi, ide for DVDs]"),
    click.option("--controller-number", type=int, help="Which controller of that type (0, 1…)."),
    click.option("--location", "slot", type=int, help="Slot on the controller.  [default: the first free one]"),
]


def with_location(function):  # noqa: ANN001, ANN201
    for option in reversed(location_options):
        function = option(function)
    return function


@vm.group()
def disk() -> None:
    """Virtual hard disks attached to a VM."""


@disk.command("add")
@click.argument("name", shell_complete=vm_names)
@click.argument("path")
@with_location
@client_command()
def disk_add(session: Session, name: str, path: str, bus: str | None, controller_number: int | None, slot: int | None) -> None:
    """Attach the disk image PATH (a file on the server's host) to VM NAME."""
    target = require_vm(session.single(), name)
    attach(session, target, "Synthetic Disk Drive", "Virtual Hard Disk", path, bus or "scsi", controller_number, slot,
           f"vm disk add {name!r}")
    click.echo(path if session.quiet else f"attached {path} to {target.name}")


def find_medium(layout: Layout, path: str | None, drive_kind: int, bus: str | None, number: int | None,
                slot: int | None) -> list[tuple[CIMInstance, CIMInstance | None]]:
    """(drive, medium) pairs of the kind that match a file path or a location."""
    found = []
    for drive in layout.drives:
        if int(drive["ResourceType"]) != drive_kind:
            continue
        medium = layout.medium_in(drive)
        where = layout.location(drive)
        if path is not None and (medium is None or path not in list(medium.get("HostResource") or [])):
            continue
        if bus is not None and where[0] != bus or number is not None and where[1] != number or slot is not None and where[2] != slot:
            continue
        found.append((drive, medium))
    return found


@disk.command("remove")
@click.argument("name", shell_complete=vm_names)
@click.argument("path", required=False)
@with_location
@client_command()
def disk_remove(session: Session, name: str, path: str | None, bus: str | None, controller_number: int | None, slot: int | None) -> None:
    """Detach a disk (by its file PATH or its location) and remove its drive."""
    if path is None and slot is None:
        raise click.UsageError("give the disk's PATH or its --location")
    target = require_vm(session.single(), name)
    layout = Layout.read(target)
    found = find_medium(layout, path, DISK_DRIVE, bus, controller_number, slot)
    if not found:
        raise NotFound(f"vm disk remove {name!r}: no such disk attached")
    drive, medium = found[0]
    paths = [setting_path(target.conn, medium)] if medium is not None else []
    # The medium first, then the drive (os-win's detach order).
    if paths:
        remove_settings(session, target, paths, f"vm disk remove {name!r}", final=False)
    remove_settings(session, target, [setting_path(target.conn, drive)], f"vm disk remove {name!r}: drive")
    click.echo(f"detached {path or 'the disk'} from {target.name}")


@vm.group()
def dvd() -> None:
    """The virtual DVD drive and the image in it."""


@dvd.command("insert")
@click.argument("name", shell_complete=vm_names)
@click.argument("path")
@with_location
@client_command()
def dvd_insert(session: Session, name: str, path: str, bus: str | None, controller_number: int | None, slot: int | None) -> None:
    """Insert the ISO image PATH, as Set-VMDvdDrive does: the disc in the
    (first, or given) DVD drive is changed; an empty drive gets it; a VM
    without a DVD drive gets one."""
    target = require_vm(session.single(), name)
    what = f"vm dvd insert {name!r}"
    layout = Layout.read(target)
    drives = find_medium(layout, None, DVD_DRIVE, bus, controller_number, slot)
    loaded = [m for _d, m in drives if m is not None]
    if drives and not loaded:
        medium = template(target.conn, SASD, "Virtual CD/DVD Disk")
        medium["Parent"] = wmi_path(setting_path(target.conn, drives[0][0]))
        medium["HostResource"] = [path]
        add_settings(session, target, target.path, medium, what, final=True)
    elif drives:
        medium = drives[0][1]  # the first drive's disc, changed in place
        medium["HostResource"] = [path]
        call(session, target.conn, service(target.conn), "ModifyResourceSettings", what,
             ResourceSettings=[medium.tocimxmlstr()])
    else:
        # Generation 1 boots DVDs from IDE; generation 2 has only SCSI.
        bus = bus or ("ide" if layout.controllers_of(IDE) else "scsi")
        attach(session, target, "Synthetic DVD Drive", "Virtual CD/DVD Disk", path, bus, controller_number, slot, what)
    click.echo(path if session.quiet else f"inserted {path} into {target.name}")


@dvd.command("eject")
@click.argument("name", shell_complete=vm_names)
@click.option("--remove-drive", is_flag=True, help="Remove the DVD drive too.")
@client_command()
def dvd_eject(session: Session, name: str, remove_drive: bool) -> None:
    """Take the image out of the VM's DVD drive(s)."""
    target = require_vm(session.single(), name)
    found = find_medium(Layout.read(target), None, DVD_DRIVE, None, None, None)
    media = [setting_path(target.conn, m) for _d, m in found if m is not None]
    if not media and not remove_drive:
        click.echo(f"{target.name}: no DVD inserted")
        return
    if media:
        remove_settings(session, target, media, f"vm dvd eject {name!r}", final=not remove_drive)
    if remove_drive and found:
        remove_settings(session, target, [setting_path(target.conn, d) for d, _m in found], f"vm dvd eject {name!r}: drive")
    click.echo(f"ejected from {target.name}")


# --- network ---------------------------------------------------------------------

def connect(session: Session, target: VM, adapter: CIMInstance, switch: CIMInstanceName | None, what: str) -> None:
    """An EPASD for the adapter: added, pointed at another switch, or disabled (EnabledState 3)."""
    existing = Layout.read(target).connection_of(adapter)
    if existing is None:
        if switch is None:
            return
        connection = template(target.conn, EPASD)
        connection["ElementName"] = adapter.get("ElementName")
        connection["Parent"] = wmi_path(setting_path(target.conn, adapter))
        connection["HostResource"] = [wmi_path(switch)]
        add_settings(session, target, target.path, connection, what, final=True)
        return
    if switch is None:
        existing["EnabledState"] = Uint16(3)
    else:
        existing["EnabledState"] = Uint16(2)
        existing["HostResource"] = [wmi_path(switch)]
    call(session, target.conn, service(target.conn), "ModifyResourceSettings", what, ResourceSettings=[existing.tocimxmlstr()])


@vm.group()
def nic() -> None:
    """Network adapters and the switches they connect to."""


def require_adapter(target: VM, nic_name: str, what: str) -> CIMInstance:
    found = Layout.read(target).adapters_named(nic_name)
    if not found:
        raise NotFound(f"{what}: the VM has no network adapter {nic_name!r}")
    if len(found) > 1:
        # Acting on the first would change an adapter the user may not have meant.
        ids = ", ".join(str(a.get("InstanceID")) for a in found)
        raise UsageFailure(f"{what}: {len(found)} network adapters answer to {nic_name!r}; name one by its InstanceID ({ids})")
    return found[0]


@nic.command("add")
@click.argument("name", shell_complete=vm_names)
@click.option("--switch", help="Connect it to this virtual switch (name or ID).")
@click.option("--mac", help="Static MAC address (12 hex digits, separators allowed); dynamic if not given.")
@click.option("--nic-name", help="The adapter's name.  [default: Network Adapter, numbered when taken, as Hyper-V Manager names them]")
@client_command()
def nic_add(session: Session, name: str, switch: str | None, mac: str | None, nic_name: str | None) -> None:
    """Add a synthetic network adapter to VM NAME."""
    target = require_vm(session.single(), name)
    what = f"vm nic add {name!r}"
    switch_path = require_switch(target.conn, switch).instance.path if switch else None
    port = nic_name or _free_adapter_name(Layout.read(target))
    adapter = template(target.conn, SEPSD)
    adapter["ElementName"] = port
    adapter["VirtualSystemIdentifiers"] = ["{%s}" % uuid.uuid4()]
    if mac:
        adapter["Address"] = mac.replace(":", "").replace("-", "").upper()
        adapter["StaticMacAddress"] = True
    path = add_settings(session, target, vssd_path(target), adapter, what, final=switch_path is None)
    if switch_path is not None:
        connect(session, target, target.conn.GetInstance(path), switch_path, f"{what}: connect")
    click.echo(port if session.quiet else f"added network adapter {port} to {target.name}")


def _free_adapter_name(layout: Layout) -> str:
    taken = {str(a.get("ElementName")) for a in layout.adapters}
    return next(name for n in range(1, len(taken) + 2)
                if (name := "Network Adapter" if n == 1 else f"Network Adapter {n}") not in taken)


@nic.command("remove")
@click.argument("name", shell_complete=vm_names)
@click.argument("nic_name")
@client_command()
def nic_remove(session: Session, name: str, nic_name: str) -> None:
    """Remove the network adapter NIC_NAME (its name or MAC address)."""
    target = require_vm(session.single(), name)
    what = f"vm nic remove {name!r}"
    adapter = require_adapter(target, nic_name, what)
    remove_settings(session, target, [setting_path(target.conn, adapter)], what)
    click.echo(f"removed network adapter {nic_name} from {target.name}")


@nic.command("connect")
@click.argument("name", shell_complete=vm_names)
@click.argument("nic_name")
@click.option("--switch", help="The virtual switch (name or ID).")
@click.option("--vlan", type=click.IntRange(1, 4094), help="Put the port in this VLAN (access mode).")
@click.option("--disconnect", is_flag=True, help="Disconnect the adapter instead.")
@client_command()
def nic_connect(session: Session, name: str, nic_name: str, switch: str | None, vlan: int | None, disconnect: bool) -> None:
    """Connect the adapter NIC_NAME to a switch (optionally in a --vlan), or --disconnect it."""
    if bool(switch) == disconnect:
        raise click.UsageError("give exactly one of --switch or --disconnect")
    if vlan is not None and disconnect:
        raise click.UsageError("--vlan goes with --switch")
    target = require_vm(session.single(), name)
    what = f"vm nic connect {name!r}"
    adapter = require_adapter(target, nic_name, what)
    connect(session, target, adapter, require_switch(target.conn, switch).instance.path if switch else None, what)
    if vlan is not None:
        allocation = Layout.read(target).connection_of(adapter)
        if allocation is None:
            raise CommandFailure(f"{what}: the adapter has no connection to put in VLAN {vlan}")
        set_vlan(session, target.conn, setting_path(target.conn, allocation), vlan, what)
    tagged = f" in VLAN {vlan}" if vlan is not None else ""
    click.echo(f"{nic_name} {'disconnected' if disconnect else 'connected to ' + str(switch) + tagged}")
