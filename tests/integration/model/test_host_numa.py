"""The host's NUMA nodes as os-win's hostutils.get_numa_nodes reads them,
on both backends: Msvm_NumaNode, and through Msvm_HostedDependency from
each node its Msvm_Memory (NumberOfBlocks, MB) and its Msvm_Processors
(the processor number is the DeviceID's last part). On libvirt the
topology is the host's own (the test driver describes two cells)."""

from __future__ import annotations

import os

import pytest

from tests.integration.model.backends import BACKENDS
from tests.integration.model.hyperv import NS
from tests.support.live import in_process_server


@pytest.fixture(params=sorted(BACKENDS), scope="module")
def served(request, tmp_path_factory):
    with in_process_server(tmp_path_factory.mktemp(request.param), **BACKENDS[request.param]) as live:
        yield live.connection(NS), request.param


def same(a, b) -> bool:
    keys = lambda p: (p.classname.lower(), sorted((k.lower(), str(v).lower()) for k, v in p.keybindings.items()))  # noqa: E731
    return keys(a) == keys(b)


def numa_nodes(conn) -> list[dict]:
    """os-win's get_numa_nodes, over pywbem."""
    memories = conn.EnumerateInstances("Msvm_Memory", PropertyList=["NumberOfBlocks"])
    processors = conn.EnumerateInstances("Msvm_Processor", PropertyList=["DeviceID"])
    found = []
    for node in conn.EnumerateInstances("Msvm_NumaNode"):
        hosted = [ref["Dependent"] for ref in conn.References(node.path, ResultClass="Msvm_HostedDependency", Role="Antecedent")]
        [memory] = [m for m in memories if any(same(m.path, h) for h in hosted)]
        cpus = [p for p in processors if any(same(p.path, h) for h in hosted)]
        found.append({"id": node["NodeID"].split("\\")[-1], "memory": memory["NumberOfBlocks"],
                      "memory_usage": node["CurrentlyConsumableMemoryBlocks"],
                      "cpuset": {int(p["DeviceID"].split("\\")[-1]) for p in cpus}})
    return found


def test_numa_nodes_as_os_win_reads_them(served):
    conn, backend = served
    nodes = sorted(numa_nodes(conn), key=lambda n: n["id"])
    if backend == "libvirt":
        assert [(n["id"], n["memory"], n["cpuset"]) for n in nodes] == [("0", 2048, set(range(8))), ("1", 4096, set(range(8, 16)))]
    else:
        assert [(n["id"], n["cpuset"]) for n in nodes] == [("0", set(range(os.cpu_count() or 1)))]
        assert nodes[0]["memory"] > 0
    for node in conn.EnumerateInstanceNames("Msvm_NumaNode"):
        assert conn.GetInstance(node)["NodeID"].startswith("Microsoft:PhysicalNode\\")
        for device in conn.AssociatorNames(node, AssocClass="Msvm_HostedDependency", ResultRole="Dependent"):
            [back] = conn.AssociatorNames(device, AssocClass="Msvm_HostedDependency", ResultRole="Antecedent")
            assert same(back, node) and conn.GetInstance(device)["SystemName"] == conn.GetInstance(node)["SystemName"]
