"""Hyper-V's virtual NUMA as libvirt's `<cpu><numa>` cells.

Hyper-V splits a VM into as many virtual NUMA nodes as its limits need
(MaxProcessorsPerNumaNode, MaxMemoryBlocksPerNumaNode), evenly, and only
projects them with static memory and virtual NUMA on. The cells written
here are remembered in our metadata (`HyperVExtras.numa_cells`), so a VM
that needs one node again loses the cells we wrote, never cells written
with virsh."""

from __future__ import annotations

import math

from lxml import etree

from cimprovider.schemas.vm import VirtualMachine


def numa_nodes(vm: VirtualMachine) -> int:
    """How many virtual NUMA nodes Hyper-V would give `vm` (1: none projected)."""
    if vm.memory.dynamic_enabled or not vm.virtual_numa_enabled:
        return 1
    by_processors = math.ceil(vm.processor.count / vm.processor.max_processors_per_numa_node)
    limit = vm.memory.max_per_numa_node_mb
    by_memory = math.ceil(vm.memory.startup_mb / limit) if limit else 1
    return max(1, by_processors, min(by_memory, vm.processor.count))


def write_numa(root: etree._Element, vm: VirtualMachine, ours_before: int) -> int:
    """Write `vm`'s cells (after the memory, which may hold one cell of its
    own for dynamic memory); returns the number of cells now ours."""
    nodes = numa_nodes(vm)
    cpu = root.find("cpu")
    if nodes == 1:
        if ours_before > 1 and cpu is not None and cpu.find("numa") is not None:
            cpu.remove(cpu.find("numa"))  # type: ignore[arg-type]
            if len(cpu) == 0 and not cpu.attrib:
                root.remove(cpu)
        return 0
    if cpu is None:
        cpu = etree.SubElement(root, "cpu")
    old = cpu.find("numa")
    if old is not None:
        cpu.remove(old)
    numa = etree.SubElement(cpu, "numa")
    vcpus = max(int((root.findtext("vcpu") or "1").strip() or 1), vm.processor.count)
    memory_kib = vm.memory.startup_mb * 1024
    count = vm.processor.count
    members: list[list[int]] = [[] for _ in range(nodes)]
    for cpu_id in range(vcpus):
        # The VM's processors evenly, in order; those it may hot-add later in turn.
        members[cpu_id * nodes // count if cpu_id < count else cpu_id % nodes].append(cpu_id)
    for node, cpus in enumerate(members):
        size = memory_kib * (node + 1) // nodes - memory_kib * node // nodes
        etree.SubElement(numa, "cell", id=str(node), cpus=cpu_list(cpus), memory=str(size), unit="KiB")
    return nodes


def cpu_list(cpus: list[int]) -> str:
    """[0, 1, 2, 5] -> "0-2,5", libvirt's cpuset syntax."""
    ranges: list[list[int]] = []
    for cpu_id in cpus:
        if ranges and ranges[-1][1] == cpu_id - 1:
            ranges[-1][1] = cpu_id
        else:
            ranges.append([cpu_id, cpu_id])
    return ",".join(f"{a}-{b}" if b > a else str(a) for a, b in ranges)
