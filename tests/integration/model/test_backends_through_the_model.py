"""The model's scenario through the providers, once per backend: the same
Hyper-V calls over pywbem against a server on the simulated host and one on
libvirt (its test driver: fresh state per server). What the test driver
cannot do (live device changes) is exercised on QEMU in tests/backends/kvm."""

from __future__ import annotations

import pytest
from pywbem import CIMInstance, Uint32, Uint64

from tests.integration.model.backends import BACKENDS
from tests.integration.model.hyperv import NS, check, define_vm, request_state, service, settings_of, state
from tests.integration.model.switches import (
    BANDWIDTH,
    add_adapter,
    connect,
    default_of,
    define_switch,
    ports_of_switch,
    switch_by_name,
    switch_service,
)
from tests.support.live import in_process_server

RUNNING, OFF, SAVED, PAUSED = 2, 3, 6, 9


@pytest.fixture(params=sorted(BACKENDS), scope="module")
def conn(request, tmp_path_factory):
    with in_process_server(tmp_path_factory.mktemp(request.param), **BACKENDS[request.param]) as live:
        yield live.connection(NS)


def modify(conn, instance: CIMInstance, **values) -> None:
    for name, value in values.items():
        instance[name] = value
    check(conn, conn.InvokeMethod("ModifyResourceSettings", service(conn), ResourceSettings=[instance.tocimxmlstr()]))


def test_define_size_power_and_destroy(conn):
    vm = define_vm(conn, "across-backends")
    assert conn.GetInstance(vm)["ElementName"] == "across-backends"

    (memory,) = settings_of(conn, "Msvm_MemorySettingData", vm)
    modify(conn, memory, VirtualQuantity=Uint64(2048), Reservation=Uint64(2048), Limit=Uint64(2048))
    (cpu,) = settings_of(conn, "Msvm_ProcessorSettingData", vm)
    modify(conn, cpu, VirtualQuantity=Uint64(2), Reservation=Uint64(2), Limit=Uint64(100000))
    assert settings_of(conn, "Msvm_MemorySettingData", vm)[0]["VirtualQuantity"] == 2048
    assert settings_of(conn, "Msvm_ProcessorSettingData", vm)[0]["VirtualQuantity"] == 2

    for requested, expected in ((RUNNING, RUNNING), (PAUSED, PAUSED), (RUNNING, RUNNING), (SAVED, SAVED),
                                (RUNNING, RUNNING), (OFF, OFF)):
        code, job = request_state(conn, vm, requested)
        assert code == 4096 and job["JobState"] == 7, (requested, job and job["ErrorDescription"])
        assert state(conn, vm) == expected
    assert request_state(conn, vm, OFF)[0] == 32775  # already off

    vssd = conn.Associators(vm, AssocClass="Msvm_SettingsDefineState", ResultClass="Msvm_VirtualSystemSettingData")[0]
    code, out = conn.InvokeMethod("GetSummaryInformation", service(conn), SettingData=[vssd.path],
                                  RequestedInformation=[Uint32(1), Uint32(4), Uint32(100)])
    summary = out["SummaryInformation"][0]
    assert (summary["ElementName"], summary["NumberOfProcessors"], summary["EnabledState"]) == ("across-backends", 2, OFF)

    check(conn, conn.InvokeMethod("DestroySystem", service(conn), AffectedSystem=vm))
    assert "across-backends" not in {i["ElementName"] for i in conn.EnumerateInstances("Msvm_ComputerSystem")}
    # The method has no Job parameter: a failure is its return code, not a job the client cannot see.
    code, out = conn.InvokeMethod("GetSummaryInformation", service(conn), SettingData=[vssd.path],
                                  RequestedInformation=[Uint32(1)])
    assert (code, out) == (32779, {})


def test_switches_connections_and_features(conn):
    adapter = conn.EnumerateInstances("Msvm_ExternalEthernetPort")[0]["ElementName"]
    inside = define_switch(conn, "across-inside", "internal")
    outside = define_switch(conn, "across-outside", "external", adapter)
    assert {s["Name"] for s in switch_by_name(conn, "across-inside")} == {inside["Name"]}
    assert conn.GetInstance(outside)["EnabledState"] == 2
    vm = define_vm(conn, "across-wired")
    add_adapter(conn, vm, "port-across")
    allocation = connect(conn, inside, "port-across")
    limit = default_of(conn, BANDWIDTH)
    limit["Limit"] = Uint64(80_000_000)
    check(conn, conn.InvokeMethod("AddFeatureSettings", service(conn), AffectedConfiguration=allocation,
                                  FeatureSettings=[limit.tocimxmlstr()]))
    assert [b["Limit"] for b in conn.Associators(allocation, ResultClass=BANDWIDTH)] == [80_000_000]
    assert [p["ElementName"] for p in ports_of_switch(conn, inside) if p["ElementName"] == "port-across"] == ["port-across"]
    for switch in (inside, outside):
        check(conn, conn.InvokeMethod("DestroySystem", switch_service(conn), AffectedSystem=switch))
    assert settings_of(conn, "Msvm_EthernetPortAllocationSettingData", vm) == []
    check(conn, conn.InvokeMethod("DestroySystem", service(conn), AffectedSystem=vm))
