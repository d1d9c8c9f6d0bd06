"""`cimprovider vm move VM --to HOST`: MigrateVirtualSystemToHost on the
VM's server, with a progress bar while the disks travel. HOST is what the
server understands: a peer named in its peers file, host:port or a URL.
`--storage-path DIR` puts every disk into DIR on the destination (else
each keeps its path); `--quick` is Hyper-V's quick migration: save, move,
restore — restoring needs the destination's address, from --to itself
(host:port, URL) or the client's --peers file.

`cimprovider vm move-storage VM DIR`: storage migration on the VM's own
host (MigrationType 32769): every disk of the VM, with its parents and
snapshot disks, moves into DIR while the VM keeps its state."""

from __future__ import annotations

from pathlib import Path

import click
import pywbem

from cimprovider.cli.completion import vm_names
from cimprovider.cli.connection import Session, client_command
from cimprovider.cli.failures import CommandFailure
from cimprovider.cli.hyperv import VM, require_vm, settings_of
from cimprovider.cli.jobs import call
from cimprovider.cli.vm import vm
from cimprovider.migration.peers import PeerError, load_peers, resolve_destination

RUNNING, SAVED = 2, 6
STORAGE, VIRTUAL_SYSTEM_AND_STORAGE = 32769, 32771
HARD_DISK = "Microsoft:Hyper-V:Virtual Hard Disk"


def migration_service(conn: pywbem.WBEMConnection) -> pywbem.CIMInstanceName:
    return conn.EnumerateInstanceNames("Msvm_VirtualSystemMigrationService")[0]


def migration_setting(conn: pywbem.WBEMConnection, migration_type: int = VIRTUAL_SYSTEM_AND_STORAGE,
                      bandwidth: int | None = None) -> str:
    """The server's preexisting setting for this kind of migration, with
    its Bandwidth (Mbit/s) set when given."""
    found = conn.ExecQuery("WQL", "SELECT * FROM Msvm_VirtualSystemMigrationSettingData "
                                  f"WHERE MigrationType = '{migration_type}'", conn.default_namespace)
    if not found:
        raise CommandFailure("vm move: the server offers no migration settings; it cannot migrate VMs")
    setting = found[0]
    if bandwidth is not None:
        setting["Bandwidth"] = pywbem.Uint16(bandwidth)
    return setting.tocimxmlstr()


def placed_disks(target: VM, directory: str) -> list[str]:
    """Each virtual hard disk's setting, pointed into `directory`."""
    placed = []
    for disk in settings_of(target, "Msvm_StorageAllocationSettingData"):
        if disk["ResourceSubType"] == HARD_DISK and disk["HostResource"]:
            disk["HostResource"] = [str(Path(directory) / Path(disk["HostResource"][0]).name)]
            placed.append(disk.tocimxmlstr())
    return placed


def change_state(session: Session, target: VM, state: int, what: str) -> None:
    call(session, target.conn, target.path, "RequestStateChange", what, final=False, RequestedState=pywbem.Uint16(state))


def destination_connection(session: Session, to: str, peers_file: Path | None) -> pywbem.WBEMConnection:
    try:
        peer = resolve_destination(to, load_peers(peers_file))
    except PeerError as error:
        raise CommandFailure(f"vm move --quick: cannot reach {to} to restore the VM: {error}") from None
    if not peer.credentials:
        return session.connection(peer.url)  # the client's own credentials
    return pywbem.WBEMConnection(peer.url, peer.credentials, default_namespace=session.namespace, timeout=session.timeout,
                                 no_verification=peer.no_verify, ca_certs=str(peer.ca_file) if peer.ca_file else None)


@vm.command("move")
@click.argument("name", shell_complete=vm_names)
@click.option("--to", "to", required=True, help="Destination host: a peer of the server, host:port or a URL.")
@click.option("--storage-path", help="Directory on the destination for every disk.  [default: each keeps its path]")
@click.option("--quick", is_flag=True, help="Quick migration: save the VM, move it, restore it on the destination.")
@click.option("--bandwidth", type=click.IntRange(0, 65535), metavar="MBITS",
              help="The most the move sends, in Mbit/s (0: no cap).  [default: no cap]")
@click.option("--peers", "peers_file", envvar="CIMPROVIDER_PEERS", type=click.Path(path_type=Path, dir_okay=False),
              help="Peers file naming the destination's URL and credentials (for --quick's restore).")
@client_command(job=True)
def move(session: Session, name: str, to: str, storage_path: str | None, quick: bool, bandwidth: int | None,
         peers_file: Path | None) -> None:
    """Move VM NAME to another host, with its disks and snapshots (a running VM keeps running)."""
    target = require_vm(session.single(), name)
    was_running = target.state == RUNNING
    if quick and was_running:
        change_state(session, target, SAVED, f"vm move {name!r}: save")
    params = {
        "ComputerSystem": target.path,
        "DestinationHost": to,
        "MigrationSettingData": migration_setting(target.conn, bandwidth=bandwidth),
        "NewResourceSettingData": placed_disks(target, storage_path) if storage_path else [],
    }
    service = migration_service(target.conn)
    call(session, target.conn, service, "MigrateVirtualSystemToHost", f"vm move {name!r} to {to}", final=not quick, **params)
    if quick and was_running:
        moved = require_vm(destination_connection(session, to, peers_file), name)
        change_state(session, moved, RUNNING, f"vm move {name!r}: restore on {to}")
    click.echo(target.guid if session.quiet else f"moved {target.name} to {to}")


@vm.command("move-storage")
@click.argument("name", shell_complete=vm_names)
@click.argument("directory")
@client_command(job=True)
def move_storage(session: Session, name: str, directory: str) -> None:
    """Move the disks of VM NAME into DIRECTORY on its own host (the VM keeps running if it runs)."""
    target = require_vm(session.single(), name)
    disks = placed_disks(target, directory)
    if not disks:
        raise CommandFailure(f"vm move-storage: {target.name} has no virtual hard disk to move")
    call(session, target.conn, migration_service(target.conn), "MigrateVirtualSystemToHost",
         f"vm move-storage {name!r} to {directory}", ComputerSystem=target.path, DestinationHost=None,
         MigrationSettingData=migration_setting(target.conn, STORAGE), NewResourceSettingData=disks)
    click.echo(directory if session.quiet else f"moved the storage of {target.name} to {directory}")
