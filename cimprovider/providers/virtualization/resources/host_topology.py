"""The host's NUMA topology as Hyper-V shows it: one Msvm_NumaNode per node
(NodeID `Microsoft:PhysicalNode\\<n>`), the host's logical processors as
Msvm_Processor (DeviceID `Microsoft:<GUID>\\0\\<n>`, whose last part os-win
reads as the processor number) and each node's memory as Msvm_Memory, all
with SystemName the host. Msvm_HostedDependency relates each node
(Antecedent) to its processors and memory (Dependent); os-win's
get_numa_nodes follows exactly that.

`HostDevices` wraps the VM device provider, so Msvm_Processor and
Msvm_Memory hold the host's devices beside the running VMs' ones, and
Msvm_DiskDrive the host's pass-through disks (host_disks.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import UUID

from pywbem import CIMInstance, CIMInstanceName

from cimprovider.providers.base import InstanceProvider, OperationContext, PropertySet, Pushdown, instance_not_found
from cimprovider.providers.virtualization import ids
from cimprovider.providers.virtualization.model import CS, Virtualization
from cimprovider.providers.virtualization.resources.devices import DISK, MEMORY, PROCESSOR
from cimprovider.providers.virtualization.resources.host_disks import host_disks
from cimprovider.schemas.host import NumaNode

NUMA_NODE = "Msvm_NumaNode"
HOST_PROCESSOR_ID = UUID("b637f346-6a0e-4dec-af52-bd70cb80a21e")  # Hyper-V's processor GUID, host side


def node_values(virt: Virtualization, node: NumaNode) -> dict[str, Any]:
    node_id = f"{ids.PREFIX}PhysicalNode\\{node.id}"
    return {
        **_host_device(virt, NUMA_NODE, node_id, f"NUMA Node {node.id}"),
        "NodeID": node_id,
        "NumberOfLogicalProcessors": len(node.processors),
        "NumberOfProcessorCores": len(node.processors),
        "NumberOfBlocks": node.memory_mb,
        "CurrentlyConsumableMemoryBlocks": node.free_memory_mb if node.free_memory_mb is not None else node.memory_mb,
    }


def processor_values(virt: Virtualization, number: int) -> dict[str, Any]:
    values = _host_device(virt, PROCESSOR, f"{ids.PREFIX}{ids.guid(HOST_PROCESSOR_ID)}\\0\\{number}", f"Logical Processor {number}")
    values.update(Role="Central Processor", CPUStatus=1)
    return values


def memory_values(virt: Virtualization, node: NumaNode) -> dict[str, Any]:
    values = _host_device(virt, MEMORY, f"{ids.PREFIX}PhysicalMemory\\{node.id}", f"Memory of NUMA Node {node.id}")
    values.update(BlockSize=1024 * 1024, NumberOfBlocks=node.memory_mb, Volatile=True)
    return values


def _host_device(virt: Virtualization, classname: str, device_id: str, name: str) -> dict[str, Any]:
    return {
        "CreationClassName": classname,
        "DeviceID": device_id,
        "SystemCreationClassName": CS,
        "SystemName": virt.host_name,
        "ElementName": name,
        "Caption": name,
        "EnabledState": 2,
        "HealthState": 5,
        "OperationalStatus": [2],
    }


def host_topology(virt: Virtualization) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """Each node's values with its processors' and memory's values."""
    return [
        (node_values(virt, node), [*(processor_values(virt, n) for n in node.processors), memory_values(virt, node)])
        for node in virt.backend.host_info().topology()
    ]


def host_device_path(virt: Virtualization, values: dict[str, Any]) -> CIMInstanceName:
    return virt.renderer.path(values["CreationClassName"], values)


def is_host_device(virt: Virtualization, path: CIMInstanceName) -> bool:
    name = next((v for k, v in path.keybindings.items() if k.lower() == "systemname"), None)
    return isinstance(name, str) and name.lower() == virt.host_name.lower()


class HostDevices(InstanceProvider):
    """The VM devices of `inner`, plus the host's NUMA nodes, processors,
    memory and pass-through disks."""

    def __init__(self, virt: Virtualization, inner: InstanceProvider) -> None:
        self.virt = virt
        self.inner = inner
        self.classnames = (*inner.classnames, NUMA_NODE)  # type: ignore[misc]

    def host_instances(self, classname: str) -> Iterator[dict[str, Any]]:
        lowered = classname.lower()
        if lowered == DISK.lower():
            yield from host_disks(self.virt)
        for node, devices in host_topology(self.virt):
            if lowered == NUMA_NODE.lower():
                yield node
            yield from (d for d in devices if d["CreationClassName"].lower() == lowered)

    def enumerate_instances(
        self, ctx: OperationContext, classname: str, properties: PropertySet, pushdown: Pushdown | None = None
    ) -> Iterator[CIMInstance]:
        if classname.lower() != NUMA_NODE.lower():
            yield from self.inner.enumerate_instances(ctx, classname, properties, pushdown)
        if pushdown is None or pushdown.admits("SystemName", self.virt.host_name):
            for values in self.host_instances(classname):
                yield self.virt.renderer.instance(values["CreationClassName"], values, properties)

    def get_instance(self, ctx: OperationContext, path: CIMInstanceName, properties: PropertySet) -> CIMInstance:
        if not is_host_device(self.virt, path):
            return self.inner.get_instance(ctx, path, properties)
        device_id = str(next((v for k, v in path.keybindings.items() if k.lower() == "deviceid"), "")).lower()
        for values in self.host_instances(path.classname):
            if values["DeviceID"].lower() == device_id:
                return self.virt.renderer.instance(values["CreationClassName"], values, properties)
        raise instance_not_found(path)
