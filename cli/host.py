"""`cimprovider host list`: the hosts of a peers file (the one a server is
given with --peers), each with its VMs, free memory and state — reached
with the URL and credentials the file names. `host health` (host_health.py)
asks the server itself."""

from __future__ import annotations

from pathlib import Path

import click
import pywbem

from cimprovider.cli.connection import Session, client_command
from cimprovider.cli.failures import PARTIAL, UNREACHABLE, CommandFailure, explain
from cimprovider.cli.host_health import health
from cimprovider.cli.hyperv import list_vms
from cimprovider.cli.output import emit
from cimprovider.migration.peers import Peer, PeerError, load_peers

HOST_FIELDS = ("name", "url", "state", "vms", "running", "held", "free_memory_mb", "error")
MEMORY = 4
USING_MEMORY = (2, 9)  # running, paused
# A peer that did not answer, and one that answered but refused the peers
# file's credentials: either way the host is not listed.
FAILED_STATES = ("refused", "unreachable")


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
    except pywbem.AuthError:
        # It answered: the credentials are what is wrong, not the network.
        return {**record, "state": "refused", "error": "the peer refused the credentials the peers file names (401)"}
    except pywbem.HTTPError as error:
        if error.status == 429:
            return {**record, "state": "refused",
                    "error": "the peer refuses the peers file's user for now, after too many failed authentications (429)"}
        return {**record, "state": "unreachable", "error": explain(error)[0]}
    except pywbem.Error as error:
        return {**record, "state": "unreachable", "error": explain(error)[0]}
    except (OSError, StopIteration) as error:
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
    failed = {state: [row["name"] for row in rows if row["state"] == state] for state in FAILED_STATES}
    down = sum(len(names) for names in failed.values())
    if down:
        # Shown in the table all the same; the exit code tells a script (README: exit codes).
        said = "; ".join(f"{state}: {', '.join(names)}" for state, names in failed.items() if names)
        raise CommandFailure(f"host list: {said}", PARTIAL if down < len(rows) else UNREACHABLE)


host.add_command(health)
