"""The hosts the console shows: this server, read in process as the
signed-in user, and the peers of its migration peers file, read over
CIM-XML with the credentials that file gives (as the migration engine
signs in there). Each host: its state, VM counts, free memory (the NUMA
nodes' consumable memory) and the storage roots' space (a peer's from its
/metrics)."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import pywbem
from pywbem import CIMInstance

from cimprovider.web.cim import NAMESPACE, ActionFailed, CIMClient
from cimprovider.web.console import PeerHost
from cimprovider.web.machines import is_vm
from cimprovider.web.peer_storage import peer_storage

PEER_TIMEOUT_SECONDS = 5
OPERATIONAL = {2: "OK", 3: "Degraded", 6: "Error", 13: "Lost communication", 15: "Dormant"}


class Reader(Protocol):
    def enumerate(self, classname: str, namespace: str = NAMESPACE) -> list[CIMInstance]: ...


@dataclass
class HostView:
    name: str
    url: str
    state: str
    vms_total: int = 0
    vms_running: int = 0
    free_memory_mb: int | None = None
    total_memory_mb: int | None = None
    storage: list[tuple[str, int, int]] = field(default_factory=list)  # (root, free bytes, total bytes)
    error: str = ""


class PeerReader:
    """pywbem against a peer, shaped like CIMClient's enumerate."""

    def __init__(self, peer: PeerHost) -> None:
        verify: bool | str = False if peer.no_verify else (str(peer.ca_file) if peer.ca_file else True)
        self.conn = pywbem.WBEMConnection(peer.url, peer.credentials, default_namespace=NAMESPACE,
                                          timeout=PEER_TIMEOUT_SECONDS, ca_certs=verify if isinstance(verify, str) else None,
                                          no_verification=peer.no_verify)

    def enumerate(self, classname: str, namespace: str = NAMESPACE) -> list[CIMInstance]:
        try:
            return list(self.conn.EnumerateInstances(classname, namespace))
        except pywbem.Error as error:
            raise ActionFailed(f"{classname}: {error}") from None


def read_host(reader: Reader, name: str, url: str) -> HostView:
    try:
        systems = reader.enumerate("Msvm_ComputerSystem")
    except ActionFailed as failure:
        return HostView(name, url, "Unreachable", error=str(failure))
    host = next((s for s in systems if not is_vm(s)), None)
    codes = [int(c) for c in (host.get("OperationalStatus") or []) if c is not None] if host is not None else []
    view = HostView(str(host.get("ElementName") or name) if host is not None else name, url,
                    OPERATIONAL.get(codes[0], f"Status {codes[0]}") if codes else "Unknown")
    vms = [s for s in systems if is_vm(s)]
    view.vms_total = len(vms)
    view.vms_running = sum(1 for s in vms if int(s.get("EnabledState") or 0) == 2)
    try:
        nodes = reader.enumerate("Msvm_NumaNode")
        view.free_memory_mb = sum(int(n.get("CurrentlyConsumableMemoryBlocks") or 0) for n in nodes)
        view.total_memory_mb = sum(int(n.get("NumberOfBlocks") or 0) for n in nodes)
    except ActionFailed as failure:
        view.error = str(failure)
    return view


def local_host(client: CIMClient, name: str, roots: list[Path]) -> HostView:
    view = read_host(client, name, "this server")
    for root in roots:
        try:
            usage = shutil.disk_usage(root)
        except OSError:
            continue
        view.storage.append((str(root), usage.free, usage.total))
    return view


def peer_host(peer: PeerHost) -> HostView:
    view = read_host(PeerReader(peer), peer.name, peer.url)
    if view.state != "Unreachable":
        view.storage = peer_storage(peer, PEER_TIMEOUT_SECONDS)
    return view
