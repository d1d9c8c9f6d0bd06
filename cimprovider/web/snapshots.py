"""A VM's checkpoints as Hyper-V Manager shows them, a tree, read through
Msvm_SnapshotOfVirtualSystem (the snapshots) and each snapshot VSSD's
Parent; changed through the snapshot service (create, apply, delete,
delete subtree) and ModifySystemSettings (rename)."""

from __future__ import annotations

from dataclasses import dataclass, field

from pywbem import CIMInstance, CIMInstanceName, Uint16

from cimprovider.web.cim import NAMESPACE, ActionFailed, CIMClient
from cimprovider.web.hardware import instance_id_in
from cimprovider.web.machines import service, vm_path

SNAPSHOT_SERVICE = "Msvm_VirtualSystemSnapshotService"
VSSD = "Msvm_VirtualSystemSettingData"


@dataclass
class Checkpoint:
    instance: CIMInstance
    children: list["Checkpoint"] = field(default_factory=list)
    current: bool = False

    @property
    def instance_id(self) -> str:
        return str(self.instance["InstanceID"])

    @property
    def name(self) -> str:
        return str(self.instance.get("ElementName") or self.instance_id)

    @property
    def created(self) -> str:
        when = self.instance.get("CreationTime")
        return str(when.datetime.strftime("%Y-%m-%d %H:%M:%S")) if when is not None and when.datetime else ""


def snapshot_path(instance_id: str) -> CIMInstanceName:
    return CIMInstanceName(VSSD, {"InstanceID": instance_id}, namespace=NAMESPACE)


def checkpoints(client: CIMClient, guid: str) -> list[Checkpoint]:
    """The roots of the VM's checkpoint tree, each with its children."""
    found = client.associators(vm_path(guid), assoc="Msvm_SnapshotOfVirtualSystem", result=VSSD)
    nodes = {str(s["InstanceID"]).lower(): Checkpoint(s) for s in found}
    current = client.associators(vm_path(guid), assoc="Msvm_MostCurrentSnapshotInBranch", result=VSSD)
    for instance in current:
        node = nodes.get(str(instance["InstanceID"]).lower())
        if node is not None:
            node.current = True
    roots: list[Checkpoint] = []
    for node in sorted(nodes.values(), key=lambda n: (n.created, n.instance_id)):
        parent = nodes.get(instance_id_in(node.instance.get("Parent")))
        (parent.children if parent is not None else roots).append(node)
    return roots


def find(client: CIMClient, guid: str, instance_id: str) -> Checkpoint:
    """A checkpoint of this VM (never one of another VM, whatever the form says)."""
    stack = checkpoints(client, guid)
    while stack:
        node = stack.pop()
        if node.instance_id.lower() == instance_id.lower():
            return node
        stack.extend(node.children)
    raise ActionFailed(f"the VM has no checkpoint {instance_id}")


def create(client: CIMClient, guid: str) -> None:
    client.call(service(client, SNAPSHOT_SERVICE), "CreateSnapshot", "Checkpoint",
                AffectedSystem=vm_path(guid), SnapshotSettings="", SnapshotType=Uint16(2))


def apply(client: CIMClient, guid: str, instance_id: str) -> None:
    node = find(client, guid, instance_id)
    client.call(service(client, SNAPSHOT_SERVICE), "ApplySnapshot", f"Apply checkpoint {node.name!r}",
                Snapshot=snapshot_path(node.instance_id))


def delete(client: CIMClient, guid: str, instance_id: str, subtree: bool) -> None:
    node = find(client, guid, instance_id)
    target = snapshot_path(node.instance_id)
    if subtree:
        client.call(service(client, SNAPSHOT_SERVICE), "DestroySnapshotTree", f"Delete checkpoint subtree {node.name!r}",
                    SnapshotSettingData=target)
    else:
        client.call(service(client, SNAPSHOT_SERVICE), "DestroySnapshot", f"Delete checkpoint {node.name!r}",
                    AffectedSnapshot=target)


def rename(client: CIMClient, guid: str, instance_id: str, name: str) -> None:
    if not name.strip():
        raise ActionFailed("Rename checkpoint: a checkpoint needs a name")
    node = find(client, guid, instance_id)
    settings = node.instance
    settings["ElementName"] = name.strip()
    client.call(service(client), "ModifySystemSettings", f"Rename checkpoint {node.name!r}", SystemSettings=settings)
