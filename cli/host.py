"""`cimprovider host list`: the hosts of a peers file (the one a server is
given with --peers), each with its VMs, free memory and state — reached
with the URL and credentials the file names. `host health` (host_health.py)
asks the server itself."""

from __future__ import annotations

from pathlib import Path

import click
import pywbem

from cimprovider.cli.connection import Session, client_command
from cimprovider.cli.failures import PARTIAL, UNREACHABLE, CommandFailure
from cimprovider.cli.host_health import health
from cimprovider.cli.hyperv import list_vms
from cimprovider.cli.output import emit
from cimprovider.migration.peers import Peer, PeerError, load_peers

HOST_FIELDS = ("name", "url", "state", "vms", "running", "held", "free_memory_mb", "error")
MEMORY = 4
USING_MEMORY = (2, 9)  # running, paused


@click.group()
def host() -> None:
    """This server's host, and the hosts its peers file names."""


def describe(session: Session, peer: Peer) -> dict:
    conn = pywbem.WBEMConnection(peer.url, peer.credentials, default_namespace=session.namespace,
                                 timeout=session.timeout, no_verification=peer.no_verify,
                                 ca_certs=str(peer.ca_file) if peer.ca_file else None)
    record: dict = {"name": peer.name, "url": peer.url}
    try:
        vms = list_vms(conn)
        pool = next(p for p in conn.EnumerateInstances("Msvm_ResourcePool") if p["ResourceType"] == MEMORY)
        running = [v for v in vms if v.state in USING_MEMORY]
        prefixes = tuple(f"Microsoft:{v.guid}".lower() for v in running)
        # The memory settings of running VMs (their InstanceIDs start with the VM's).
        used = sum(int(m["VirtualQuantity"] or 0) for m in conn.EnumerateInstances("Msvm_MemorySettingData")
                   if prefixes and str(m["InstanceID"]).lower().startswith(prefixes))
    except (pywbem.Error, OSError, StopIteration) as error:
        return {**record, "state": "unreachable", "error": str(error)}
    # A VM held by a migration (one not yet settled with its destination
    # among them) refuses every change: the host says which, and why.
    held = [f"{v.name} ({v.held.split(': ')[0]})" for v in vms if v.held is not None]
    return {**record, "state": "up", "vms": sorted(v.name for v in vms), "running": len(running), "held": held,
            "free_memory_mb": int(pool["Capacity"] or 0) - used}


@host.command("list")
@click.option("--peers", "peers_file", envvar="CIMPROVIDER_PEERS", required=True,
              type=click.Path(path_type=Path, dir_okay=False, exists=True), help="The peers file (TOML).")
@client_command()
def list_command(session: Session, peers_file: Path) -> None:
    """List each peer host with its VMs, free memory and state."""
    try:
        peers = load_peers(peers_file)
    except PeerError as error:
        raise CommandFailure(f"host list: {error}") from None
    rows = [describe(session, peer) for peer in peers.values()]
    emit(session, rows, HOST_FIELDS, "name")
    down = [row["name"] for row in rows if row["state"] == "unreachable"]
    if down:
        # Shown in the table all the same; the exit code tells a script (README: exit codes).
        raise CommandFailure(f"host list: unreachable: {', '.join(down)}", PARTIAL if len(down) < len(rows) else UNREACHABLE)


host.add_command(health)
