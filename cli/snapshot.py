"""`cimprovider snapshot list|new|apply|remove|tree VM …`: checkpoints
through Msvm_VirtualSystemSnapshotService (msvm-v2.md §3, §5 "Snapshots").
A snapshot is a VSSD associated with its VM by Msvm_SnapshotOfVirtualSystem;
its Parent names the snapshot it was taken after, and the VM's own VSSD
Parent names where "Now" hangs in the tree."""

from __future__ import annotations

import click
import pywbem
from pywbem import CIMInstance, CIMInstanceName, Uint16

from cimprovider.cli.completion import snapshot_names, vm_names
from cimprovider.cli.connection import Session, client_command
from cimprovider.cli.failures import CommandFailure, NotFound, UsageFailure
from cimprovider.cli.hyperv import VM, VSSD, instance_id_in, require_vm, service, setting_path, state_name, vssd
from cimprovider.cli.jobs import call
from cimprovider.cli.output import emit

FIELDS = ("name", "created", "parent", "type", "id")
# CreateSnapshot's SnapshotType: full, made as the VM's UserSnapshotType says.
# Disk-only (3) is refused by the server (32770) on every backend, so it
# is not offered.
FULL = 2


def snapshots(target: VM) -> list[CIMInstance]:
    found = target.conn.Associators(target.path, AssocClass="Msvm_SnapshotOfVirtualSystem", ResultClass=VSSD)
    return sorted(found, key=lambda s: str(s.get("CreationTime") or ""))


def record(snapshot: CIMInstance, by_id: dict[str, CIMInstance]) -> dict:
    parent = by_id.get((instance_id_in(snapshot.get("Parent")) or "").lower())
    return {
        "name": snapshot.get("ElementName"),
        "created": snapshot.get("CreationTime"),
        "parent": parent.get("ElementName") if parent is not None else None,
        "type": str(snapshot.get("VirtualSystemType") or "").removeprefix("Microsoft:Hyper-V:") or None,
        "id": snapshot["InstanceID"],
    }


def require_snapshot(target: VM, name: str) -> CIMInstance:
    """By name (ElementName) or InstanceID; the newest if several share a name."""
    matches = [s for s in snapshots(target) if s.get("ElementName") == name or str(s["InstanceID"]).lower() == name.lower()]
    if not matches:
        raise NotFound(f"snapshot {name!r}: VM {target.name!r} has no such snapshot")
    return matches[-1]


@click.group()
def snapshot() -> None:
    """Snapshots (checkpoints) of a VM."""


@snapshot.command("list")
@click.argument("vm", shell_complete=vm_names)
@client_command()
def list_command(session: Session, vm: str) -> None:
    """The snapshots of VM, oldest first."""
    target = require_vm(session.single(), vm)
    found = snapshots(target)
    by_id = {str(s["InstanceID"]).lower(): s for s in found}
    emit(session, [record(s, by_id) for s in found], FIELDS, "name")


@snapshot.command("new")
@click.argument("vm", shell_complete=vm_names)
@click.option("--name", help="The snapshot's name.  [default: the server's, e.g. 'VM - (date)']")
@client_command(job=True)
def new(session: Session, vm: str, name: str | None) -> None:
    """Take a snapshot of VM."""
    from cimprovider.schemas.snapshots import NAME_MAX  # the server's model, loaded only when needed

    if name is not None and not 1 <= len(name) <= NAME_MAX:
        # Checked before the snapshot is taken: the name is given to it afterwards.
        raise UsageFailure(f"snapshot new {vm!r}: --name must have 1 to {NAME_MAX} characters, not {len(name)}")
    target = require_vm(session.single(), vm)
    conn = target.conn
    what = f"snapshot new {vm!r}"
    out = call(session, conn, service(conn, "snapshot"), "CreateSnapshot", what, final=name is None,
               AffectedSystem=target.path, SnapshotSettings="", SnapshotType=Uint16(FULL))
    made = resulting_snapshot(conn, out, target)
    if name is not None and made is not None:
        made["ElementName"] = name
        call(session, conn, service(conn), "ModifySystemSettings", f"{what}: naming it {name!r}", SystemSettings=made.tocimxmlstr())
    label = name or (made.get("ElementName") if made is not None else "snapshot")
    if session.quiet:  # -q prints IDs, one per line (the connection options' help)
        click.echo(made["InstanceID"] if made is not None else label)
        return
    click.echo(f"took snapshot {label!r} of {target.name}")


def resulting_snapshot(conn: pywbem.WBEMConnection, out: dict, target: VM) -> CIMInstance | None:
    """ResultingSnapshot if the server filled it, else the job's affected
    VSSD (Hyper-V's way), else the newest snapshot."""
    path = out.get("ResultingSnapshot")
    if isinstance(path, CIMInstanceName):
        path.namespace = path.namespace or conn.default_namespace
        return conn.GetInstance(path)
    job = out.get("Job")
    if job is not None:
        affected = conn.Associators(job, AssocClass="Msvm_AffectedJobElement", ResultClass=VSSD)
        if affected:
            return affected[0]
    found = snapshots(target)
    return found[-1] if found else None


@snapshot.command("apply")
@click.argument("vm", shell_complete=vm_names)
@click.argument("name", shell_complete=snapshot_names)
@click.option("--force", is_flag=True, help="Turn a running (or paused) VM off first; its current state is lost.")
@client_command(job=True)
def apply(session: Session, vm: str, name: str, force: bool) -> None:
    """Return VM to snapshot NAME (the VM must be Off or Saved, as on Hyper-V)."""
    target = require_vm(session.single(), vm)
    chosen = require_snapshot(target, name)
    if target.state not in (3, 6):
        if not force:
            raise CommandFailure(f"snapshot apply {name!r}: the VM is {state_name(target.state)}; "
                                 "stop or save the VM first, or give --force")
        call(session, target.conn, target.path, "RequestStateChange", f"snapshot apply {name!r}: turn off",
             final=False, RequestedState=Uint16(3))
    call(session, target.conn, service(target.conn, "snapshot"), "ApplySnapshot", f"snapshot apply {name!r}",
         Snapshot=setting_path(target.conn, chosen))
    click.echo(f"applied {name!r} to {target.name}")


@snapshot.command("remove")
@click.argument("vm", shell_complete=vm_names)
@click.argument("name", shell_complete=snapshot_names)
@click.option("--tree", is_flag=True, help="Also every snapshot taken after it (DestroySnapshotTree).")
@client_command(job=True)
def remove(session: Session, vm: str, name: str, tree: bool) -> None:
    """Delete snapshot NAME (its changes merge into what follows it)."""
    target = require_vm(session.single(), vm)
    chosen = setting_path(target.conn, require_snapshot(target, name))
    if tree:
        call(session, target.conn, service(target.conn, "snapshot"), "DestroySnapshotTree", f"snapshot remove {name!r}",
             SnapshotSettingData=chosen)
    else:
        call(session, target.conn, service(target.conn, "snapshot"), "DestroySnapshot", f"snapshot remove {name!r}",
             AffectedSnapshot=chosen)
    click.echo(f"removed {name!r}{' and its subtree' if tree else ''} from {target.name}")


@snapshot.command("tree")
@click.argument("vm", shell_complete=vm_names)
@client_command()
def tree(session: Session, vm: str) -> None:
    """The snapshots of VM as a tree, with "Now" where the VM stands."""
    target = require_vm(session.single(), vm)
    found = snapshots(target)
    by_id = {str(s["InstanceID"]).lower(): s for s in found}
    children: dict[str | None, list[CIMInstance]] = {}
    for item in found:
        parent = (instance_id_in(item.get("Parent")) or "").lower()
        children.setdefault(parent if parent in by_id else None, []).append(item)
    now = (instance_id_in(vssd(target).get("Parent")) or "").lower() or None
    if session.output != "table" or session.quiet:
        rows = [record(s, by_id) | {"current": str(s["InstanceID"]).lower() == now} for s in found]
        emit(session, rows, (*FIELDS, "current"), "name")
        return
    if not found:
        click.echo(f"{target.name} has no snapshots")
        return

    def draw(parent: str | None, prefix: str) -> None:
        # "Now" hangs under the snapshot the VM stands on, after its children.
        items: list[CIMInstance | None] = list(children.get(parent, []))
        if parent is not None and parent == now:
            items.append(None)
        for index, item in enumerate(items):
            last = index == len(items) - 1
            label = "Now" if item is None else item.get("ElementName")
            click.echo(f"{prefix}{'└── ' if last else '├── '}{label}")
            if item is not None:
                draw(str(item["InstanceID"]).lower(), prefix + ("    " if last else "│   "))

    click.echo(target.name)
    draw(None, "")

