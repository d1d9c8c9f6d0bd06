"""Every profile the server advertises has central instances that pywbem's
WBEMServer finds through CIM_ElementConformsToProfile, as a management
client discovers a CIM server; and the host holds its resource pools
through Msvm_HostedResourcePool (DSP1041)."""

from __future__ import annotations

import pywbem
from pywbem import WBEMServer

from tests.integration.model.hyperv import NS, define_vm

EXPECTED_CENTRAL = {
    "System Virtualization": {"Msvm_ComputerSystem"},
    "Virtual System": {"Msvm_ComputerSystem"},
    "Resource Allocation": {"Msvm_ResourcePool", "Msvm_ProcessorPool"},
    "Allocation Capabilities": {"Msvm_AllocationCapabilities"},
    "Processor Resource Virtualization": {"Msvm_ProcessorPool"},
    "Memory Resource Virtualization": {"Msvm_ResourcePool"},
}


def bare(path: pywbem.CIMInstanceName) -> tuple:
    return path.classname.lower(), tuple(sorted((k.lower(), str(v).lower()) for k, v in path.keybindings.items()))


def test_every_advertised_profile_has_central_instances(server):
    define_vm(server.connection(NS), "profiled")
    wbem = WBEMServer(server.connection("root/interop"))
    profiles = wbem.get_selected_profiles(registered_org="DMTF")
    assert {p["RegisteredName"] for p in profiles} >= set(EXPECTED_CENTRAL)
    for profile in profiles:
        central = wbem.get_central_instances(profile.path)
        assert central, f"{profile['RegisteredName']} has no central instances"
        wanted = EXPECTED_CENTRAL.get(profile["RegisteredName"])
        if wanted is not None:
            assert {path.classname for path in central} == wanted, profile["RegisteredName"]
        for path in central:  # each one exists where the path says
            wbem.conn.GetInstance(path)


def test_memory_profile_centres_on_the_memory_pool_only(server):
    wbem = WBEMServer(server.connection("root/interop"))
    [memory] = wbem.get_selected_profiles(registered_org="DMTF", registered_name="Memory Resource Virtualization")
    [pool] = wbem.get_central_instances(memory.path)
    assert wbem.conn.GetInstance(pool)["ResourceType"] == 4


def test_the_host_hosts_every_pool(server):
    conn = server.connection(NS)
    host = next(cs.path for cs in conn.EnumerateInstances("Msvm_ComputerSystem") if cs["Caption"] == "Hosting Computer System")
    hosted = conn.AssociatorNames(host, AssocClass="Msvm_HostedResourcePool", ResultRole="PartComponent")
    pools = conn.EnumerateInstanceNames("CIM_ResourcePool")
    assert {bare(p) for p in hosted} == {bare(p) for p in pools} and len(pools) >= 12
    for pool in pools:
        assert [bare(p) for p in conn.AssociatorNames(pool, AssocClass="CIM_HostedResourcePool")] == [bare(host)]
    assert isinstance(conn.GetClass("Msvm_HostedResourcePool"), pywbem.CIMClass)
