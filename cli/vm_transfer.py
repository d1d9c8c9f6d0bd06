"""`cimprovider vm export|import|clone`: a VM's definition out to a folder
and back (ExportSystemDefinition; ImportSystemDefinition, which gives a
planned VM, then RealizePlannedSystem), and a copy under a new name
(DefineSystem with ReferenceConfiguration, as Hyper-V clones)."""

from __future__ import annotations

import click
import pywbem
from pywbem import CIMInstance, CIMInstanceName, Uint8

from cimprovider.cli.completion import vm_names
from cimprovider.cli.connection import Session, client_command
from cimprovider.cli.failures import CommandFailure
from cimprovider.cli.hyperv import VM, VSSD, require_vm, service, state_name, vssd_path
from cimprovider.cli.jobs import call
from cimprovider.cli.output import emit_one
from cimprovider.cli.vm import vm

EXPORT_SD = "Msvm_VirtualSystemExportSettingData"
SNAPSHOT_COPIES = {"all": 0, "none": 1}


def export_settings(target: VM, snapshots: str, storage: bool) -> str:
    """The VM's own export settings where the server offers them, else new ones."""
    try:
        found = target.conn.Associators(target.path, AssocClass="Msvm_SystemExportSettingData", ResultClass=EXPORT_SD)
    except pywbem.CIMError:
        found = []
    settings = found[0] if found else CIMInstance(EXPORT_SD, properties={"InstanceID": f"Microsoft:{target.guid}"})
    settings["CopySnapshotConfiguration"] = Uint8(SNAPSHOT_COPIES[snapshots])
    settings["CopyVmStorage"] = storage
    settings["CopyVmRuntimeInformation"] = True
    return settings.tocimxmlstr()


@vm.command("export")
@click.argument("name", shell_complete=vm_names)
@click.argument("directory")
@click.option("--snapshots", type=click.Choice(list(SNAPSHOT_COPIES)), default="all", show_default=True)
@click.option("--storage/--no-storage", default=True, show_default=True, help="Copy the disk files too.")
@client_command(job=True)
def export(session: Session, name: str, directory: str, snapshots: str, storage: bool) -> None:
    """Export VM NAME into DIRECTORY on the server's host."""
    target = require_vm(session.single(), name)
    call(session, target.conn, service(target.conn), "ExportSystemDefinition", f"vm export {name!r}",
         ComputerSystem=target.path, ExportDirectory=directory, ExportSettingData=export_settings(target, snapshots, storage))
    click.echo(directory if session.quiet else f"exported {target.name} to {directory}")


@vm.command("import")
@click.argument("definition")
@click.option("--snapshot-folder", help="Where the exported snapshots are.  [default: next to DEFINITION]")
@click.option("--new-id/--keep-id", default=True, show_default=True, help="Give the imported VM a new identity (a copy).")
@client_command()
def import_command(session: Session, definition: str, snapshot_folder: str | None, new_id: bool) -> None:
    """Import the VM whose exported definition file is DEFINITION (on the server's host)."""
    conn = session.single()
    what = f"vm import {definition}"
    out = call(session, conn, service(conn), "ImportSystemDefinition", what, final=False,
               SystemDefinitionFile=definition, SnapshotFolder=snapshot_folder, GenerateNewSystemIdentifier=new_id)
    planned = out.get("ImportedSystem")
    if not isinstance(planned, CIMInstanceName):
        raise CommandFailure(f"{what}: ImportSystemDefinition gave no ImportedSystem")
    planned.namespace = planned.namespace or conn.default_namespace
    out = call(session, conn, service(conn), "RealizePlannedSystem", f"{what}: realizing", final=False, PlannedSystem=planned)
    result = out.get("ResultingSystem")
    path = result if isinstance(result, CIMInstanceName) else CIMInstanceName("Msvm_ComputerSystem", planned.keybindings)
    path.namespace = path.namespace or conn.default_namespace
    imported = conn.GetInstance(path)
    emit_one(session, {"name": imported["ElementName"], "id": imported["Name"], "state": state_name(imported["EnabledState"])}, "id")


@vm.command("clone")
@click.argument("name", shell_complete=vm_names)
@click.argument("new_name")
@client_command()
def clone(session: Session, name: str, new_name: str) -> None:
    """A new VM NEW_NAME with the settings and devices of NAME, new IDs and
    MAC addresses, running on its own copies of NAME's disks."""
    source = require_vm(session.single(), name)
    conn = source.conn
    settings = CIMInstance(VSSD, properties={"ElementName": new_name})
    out = call(session, conn, service(conn), "DefineSystem", f"vm clone {name!r}", final=False,
               SystemSettings=settings.tocimxmlstr(), ResourceSettings=[], ReferenceConfiguration=vssd_path(source))
    path = out.get("ResultingSystem")
    if not isinstance(path, CIMInstanceName):
        raise CommandFailure(f"vm clone {name!r}: DefineSystem gave no ResultingSystem")
    path.namespace = path.namespace or conn.default_namespace
    made = conn.GetInstance(path)
    emit_one(session, {"name": made["ElementName"], "id": made["Name"], "state": state_name(made["EnabledState"])}, "id")
