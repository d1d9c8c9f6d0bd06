"""`cimprovider vm kvp get|set|remove`: Hyper-V's key-value pair exchange.
The host writes items with Add/Modify/RemoveKvpItems (Msvm_KvpExchangeDataItem
as embedded instances, Source 0); what the guest publishes is read from the
VM's Msvm_KvpExchangeComponent (GuestExchangeItems, and the intrinsic ones:
FullyQualifiedDomainName, OSName, NetworkAddressIPv4…), present while the
VM runs. The host's own items are read back, where the server offers them,
from Msvm_KvpExchangeComponentSettingData.HostExchangeItems."""

from __future__ import annotations

import click
import pywbem
from pywbem import CIMInstance, Uint16

from cimprovider.cli.completion import vm_names
from cimprovider.cli.connection import Session, client_command
from cimprovider.cli.failures import CommandFailure, NotFound
from cimprovider.cli.hyperv import VM, parse_embedded, require_vm, service
from cimprovider.cli.jobs import call
from cimprovider.cli.output import emit
from cimprovider.cli.vm import vm

SOURCES = {0: "host", 1: "guest", 2: "intrinsic", 4: "host-only"}
FIELDS = ("name", "data", "source")


def item(name: str, data: str = "") -> str:
    instance = CIMInstance("Msvm_KvpExchangeDataItem", properties={"Name": name, "Data": data, "Source": Uint16(0)})
    return instance.tocimxmlstr()


def _rows(texts: list, source: str) -> list[dict]:
    rows = []
    for text in texts or []:
        values = parse_embedded(text)
        rows.append({"name": values.get("Name"), "data": values.get("Data"),
                     "source": SOURCES.get(int(values.get("Source") or -1), source) if values.get("Source") else source})
    return rows


def read_items(target: VM) -> list[dict]:
    rows: list[dict] = []
    components = target.conn.Associators(target.path, AssocClass="Msvm_SystemDevice", ResultClass="Msvm_KvpExchangeComponent")
    for component in components:
        rows += _rows(component.get("GuestIntrinsicExchangeItems"), "intrinsic")
        rows += _rows(component.get("GuestExchangeItems"), "guest")
    try:
        for setting in target.conn.EnumerateInstances("Msvm_KvpExchangeComponentSettingData"):
            if target.guid.lower() in str(setting["InstanceID"]).lower():
                rows += _rows(setting.get("HostExchangeItems"), "host")
    except pywbem.CIMError:
        pass  # a server without host-side items to show
    return rows


@vm.group()
def kvp() -> None:
    """Key-value pairs exchanged with the guest."""


@kvp.command("get")
@click.argument("name", shell_complete=vm_names)
@click.argument("key", required=False)
@client_command()
def get(session: Session, name: str, key: str | None) -> None:
    """The items the guest (and the host) published; only KEY if given."""
    target = require_vm(session.single(), name)
    rows = [r for r in read_items(target) if key is None or r["name"] == key]
    if key is not None and not rows:
        raise NotFound(f"vm kvp get {name!r}: no item {key!r} (guest items exist only while the VM runs)")
    if key is not None and session.output == "table" and not session.quiet:
        click.echo(rows[0]["data"])
        return
    emit(session, rows, FIELDS, "name")


@kvp.command("set")
@click.argument("name", shell_complete=vm_names)
@click.argument("key")
@click.argument("value")
@client_command(job=True)
def set_item(session: Session, name: str, key: str, value: str) -> None:
    """Give the guest KEY=VALUE (added, or changed if the key exists)."""
    target = require_vm(session.single(), name)
    conn = target.conn
    what = f"vm kvp set {name!r} {key!r}"
    try:
        call(session, conn, service(conn), "AddKvpItems", what, final=False, TargetSystem=target.path, DataItems=[item(key, value)])
    except CommandFailure:
        # AddKvpItems refuses an existing key; Modify is how to change it, and
        # its error (a value too long…) is the one worth reporting.
        call(session, conn, service(conn), "ModifyKvpItems", what, TargetSystem=target.path, DataItems=[item(key, value)])
    click.echo(key if session.quiet else f"{key} set on {target.name}")


@kvp.command("remove")
@click.argument("name", shell_complete=vm_names)
@click.argument("keys", nargs=-1, required=True)
@client_command(job=True)
def remove(session: Session, name: str, keys: tuple[str, ...]) -> None:
    """Withdraw the host's items KEYS from the guest."""
    target = require_vm(session.single(), name)
    call(session, target.conn, service(target.conn), "RemoveKvpItems", f"vm kvp remove {name!r}",
         TargetSystem=target.path, DataItems=[item(k) for k in keys])
    click.echo(f"removed {', '.join(keys)} from {target.name}")
