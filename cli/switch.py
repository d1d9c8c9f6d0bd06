"""`cimprovider switch list|new|remove|set`: virtual switches as
Get-VMSwitch, New-VMSwitch, Remove-VMSwitch and Set-VMSwitch know them,
done through Msvm_VirtualEthernetSwitchManagementService as Microsoft's
samples do it: the switch's settings from the `\\Default` template, its
own ports as port allocations whose HostResource is a host adapter
(external) or the host (internal). A switch's type is read back from
those ports."""

from __future__ import annotations

from dataclasses import dataclass

import click
import pywbem
from pywbem import CIMInstance, CIMInstanceName, Uint16, Uint32

from cimprovider.cli.connection import Session, client_command
from cimprovider.cli.failures import CommandFailure, NotFound, UsageFailure
from cimprovider.cli.hyperv import CS, EPASD, is_vm, service, template, wmi_path
from cimprovider.cli.jobs import call
from cimprovider.cli.output import emit

SWITCH = "Msvm_VirtualEthernetSwitch"
SWITCH_SETTINGS = "Msvm_VirtualEthernetSwitchSettingData"
ADAPTER = "Msvm_ExternalEthernetPort"
VLAN = "Msvm_EthernetSwitchPortVlanSettingData"
FIELDS = ("name", "type", "adapter", "notes", "id")
TYPES = ("private", "internal", "external")


@dataclass
class Switch:
    instance: CIMInstance
    ports: list[CIMInstance]  # the switch's own port allocations

    @property
    def name(self) -> str:
        return str(self.instance.get("ElementName"))

    @property
    def guid(self) -> str:
        return str(self.instance["Name"])

    def port(self, kind: str) -> CIMInstance | None:
        target = ADAPTER if kind == "external" else CS
        return next((p for p in self.ports if f":{target}." in str((p.get("HostResource") or [""])[0])), None)

    @property
    def kind(self) -> str:
        return "external" if self.port("external") else "internal" if self.port("internal") else "private"

    @property
    def adapter(self) -> str | None:
        port = self.port("external")
        return str(port.get("ElementName")) if port is not None else None


def list_switches(conn: pywbem.WBEMConnection) -> list[Switch]:
    allocations = conn.EnumerateInstances(EPASD)
    found = []
    for instance in conn.EnumerateInstances(SWITCH):
        prefix = f"Microsoft:{instance['Name']}\\".lower()
        found.append(Switch(instance, [a for a in allocations if str(a["InstanceID"]).lower().startswith(prefix)]))
    return sorted(found, key=lambda s: s.name.lower())


def require_switch(conn: pywbem.WBEMConnection, name: str) -> Switch:
    """By name or GUID; names may repeat, so a repeated name asks for the GUID."""
    switches = list_switches(conn)
    matches = [s for s in switches if s.name == name or s.guid.lower() == name.lower()]
    if len(matches) > 1:
        raise CommandFailure(f"switch {name!r}: {len(matches)} switches have that name; use its ID ({', '.join(m.guid for m in matches)})")
    if not matches:
        known = ", ".join(s.name for s in switches) or "none"
        raise NotFound(f"switch {name!r}: no such virtual switch (the server has: {known})")
    return matches[0]


def switch_names(conn: pywbem.WBEMConnection) -> dict[str, str]:
    """Switch GUID (lower case) → name, for showing connections."""
    return {str(s["Name"]).lower(): str(s.get("ElementName")) for s in conn.EnumerateInstances(SWITCH)}


def host_system(conn: pywbem.WBEMConnection) -> CIMInstanceName:
    return next(s.path for s in conn.EnumerateInstances(CS) if not is_vm(s))


def adapter_path(conn: pywbem.WBEMConnection, name: str) -> CIMInstanceName:
    adapters = conn.EnumerateInstances(ADAPTER)
    for adapter in adapters:
        if str(adapter.get("ElementName")) == name or str(adapter.get("Name")) == name:
            return adapter.path
    known = ", ".join(str(a.get("ElementName")) for a in adapters) or "none"
    raise NotFound(f"adapter {name!r}: the host has no such network adapter (it has: {known})")


def port_for(conn: pywbem.WBEMConnection, kind: str, adapter: str | None) -> str:
    port = template(conn, EPASD)
    target = adapter_path(conn, adapter or "") if kind == "external" else host_system(conn)
    port["HostResource"] = [wmi_path(target)]
    return port.tocimxmlstr()


def check_type(kind: str, adapter: str | None) -> None:
    if kind == "external" and not adapter:
        raise click.UsageError("an external switch needs --adapter IFACE")
    if kind != "external" and adapter:
        raise click.UsageError("--adapter is for --type external only")


def record(switch: Switch) -> dict:
    return {"name": switch.name, "type": switch.kind, "adapter": switch.adapter, "notes": "", "id": switch.guid}


def set_vlan(session: Session, conn: pywbem.WBEMConnection, allocation: CIMInstanceName, vlan: int, what: str) -> None:
    """os-win's set_vswitch_port_vlan_id: remove the port's VLAN setting,
    add a new access one from the `\\Default` template."""
    target = service(conn)
    old = conn.AssociatorNames(allocation, ResultClass=VLAN)
    if old:
        call(session, conn, target, "RemoveFeatureSettings", f"{what}: old VLAN", FeatureSettings=old)
    setting = template(conn, VLAN)
    setting["AccessVlanId"] = Uint16(vlan)
    setting["OperationMode"] = Uint32(1)
    call(session, conn, target, "AddFeatureSettings", f"{what}: VLAN {vlan}", AffectedConfiguration=allocation,
         FeatureSettings=[setting.tocimxmlstr()])


@click.group()
def switch() -> None:
    """Virtual switches: list, create, change, remove."""


@switch.command("list")
@client_command()
def list_command(session: Session) -> None:
    """The host's virtual switches."""
    conn = session.single()
    settings = {str(s["InstanceID"]).lower(): s for s in conn.EnumerateInstances(SWITCH_SETTINGS)}
    rows = []
    for found in list_switches(conn):
        row = record(found)
        own = settings.get(f"microsoft:{found.guid}".lower())
        row["notes"] = "\n".join(n for n in (own.get("Notes") or []) if n) if own is not None else ""
        rows.append(row)
    emit(session, rows, FIELDS, "name")


@switch.command("new")
@click.argument("name")
@click.option("--type", "kind", type=click.Choice(TYPES), default="private", show_default=True,
              help="private: VMs only; internal: VMs and the host; external: bound to a host adapter.")
@click.option("--adapter", help="The host adapter an external switch is bound to.")
@click.option("--notes", help="Notes about the switch.")
@client_command()
def new(session: Session, name: str, kind: str, adapter: str | None, notes: str | None) -> None:
    """Create the virtual switch NAME (names may repeat; the ID is its identity)."""
    check_type(kind, adapter)
    conn = session.single()
    settings = template(conn, SWITCH_SETTINGS)
    settings["ElementName"] = name
    if notes is not None:
        settings["Notes"] = [notes]
    ports = [port_for(conn, kind, adapter)] if kind != "private" else []
    out = call(session, conn, service(conn, "switch"), "DefineSystem", f"switch new {name!r}",
               SystemSettings=settings.tocimxmlstr(), ResourceSettings=ports, ReferenceConfiguration=None)
    made = out.get("ResultingSystem")
    click.echo(made["Name"] if session.quiet and made is not None else f"created {kind} switch {name}")


@switch.command("remove")
@click.argument("name")
@client_command()
def remove(session: Session, name: str) -> None:
    """Remove the switch NAME; adapters connected to it are left disconnected."""
    conn = session.single()
    found = require_switch(conn, name)
    call(session, conn, service(conn, "switch"), "DestroySystem", f"switch remove {name!r}", AffectedSystem=found.instance.path)
    click.echo(f"removed switch {found.name}")


@switch.command("set")
@click.argument("name")
@click.option("--name", "new_name", help="Rename the switch.")
@click.option("--notes", help="Replace the switch's notes.")
@click.option("--type", "kind", type=click.Choice(TYPES), help="Change the switch's type (its own ports).")
@click.option("--adapter", help="The host adapter, with --type external.")
@client_command()
def set_command(session: Session, name: str, new_name: str | None, notes: str | None, kind: str | None, adapter: str | None) -> None:
    """Change the switch NAME."""
    if new_name is None and notes is None and kind is None and adapter is None:
        raise UsageFailure("switch set: nothing to change; give at least one option (see --help)")
    if kind is not None:
        check_type(kind, adapter)
    elif adapter is not None:
        raise click.UsageError("--adapter goes with --type external")
    conn = session.single()
    found = require_switch(conn, name)
    target = service(conn, "switch")
    what = f"switch set {name!r}"
    settings = conn.Associators(found.instance.path, AssocClass="Msvm_SettingsDefineState", ResultClass=SWITCH_SETTINGS)[0]
    if new_name is not None or notes is not None:
        if new_name is not None:
            settings["ElementName"] = new_name
        if notes is not None:
            settings["Notes"] = [notes]
        call(session, conn, target, "ModifySystemSettings", what, SystemSettings=settings.tocimxmlstr())
    if kind is not None and (kind != found.kind or adapter != found.adapter):
        if found.ports:
            call(session, conn, target, "RemoveResourceSettings", f"{what}: old ports", ResourceSettings=[p.path for p in found.ports])
        if kind != "private":
            call(session, conn, target, "AddResourceSettings", f"{what}: new port", AffectedConfiguration=settings.path,
                 ResourceSettings=[port_for(conn, kind, adapter)])
    click.echo(f"changed switch {new_name or found.name}")
