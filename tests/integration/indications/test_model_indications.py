"""The real model raising indications: a VM driven through
RequestStateChange over pywbem, subscribed to with pywbem's
WBEMSubscriptionManager (owned and permanent) and received by a
WBEMListener on loopback, in DMTF and WMI query forms; NIC settings created
and removed; a job's life; the service's method calls."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

import pytest
from pywbem import CIMInstance, CIMInstanceName, Uint16, WBEMServer, WBEMSubscriptionManager

from cimprovider.indications.listener import IndicationStream, listening
from tests.integration.indications.conftest import STATE_CHANGES, WMI_STATE_CHANGES, Served
from tests.support.waiting import DEADLINE
from tests.integration.model.hyperv import NS, check, define_vm, request_state, service, template

# RequestStateChange values and the EnabledState pairs (previous, source)
# each one raises: through the transitional state, then to the end.
SEQUENCE = [
    (2, [(3, 10), (10, 2)]),  # start
    (9, [(2, 32776), (32776, 9)]),  # pause
    (2, [(9, 32777), (32777, 2)]),  # resume
    (6, [(2, 32773), (32773, 6)]),  # save
    (2, [(6, 10), (10, 2)]),  # restore
    (3, [(2, 4), (4, 3)]),  # stop
]
IDLE = 5  # RequestedState when nothing is in flight
SYNTHETIC_NIC = "Microsoft:Hyper-V:Synthetic Ethernet Port"


@dataclass
class Subscriber:
    manager: WBEMSubscriptionManager
    server_id: str

    def subscribe(self, stream: IndicationStream, query: str, language: str, owned: bool = True) -> list[CIMInstanceName]:
        """Destination, filter and subscription for `stream`; the paths of
        what was made permanent (the caller removes those)."""
        tag = uuid.uuid4().hex[:8]
        if owned:
            dest = self.manager.add_destination(self.server_id, stream.listener_url, owned=True, destination_id=tag)
            flt = self.manager.add_filter(self.server_id, [NS], query, language, owned=True, filter_id=tag)
        else:
            dest = self.manager.add_destination(self.server_id, stream.listener_url, owned=False, name=f"perm-{tag}")
            flt = self.manager.add_filter(self.server_id, [NS], query, language, owned=False, name=f"perm-{tag}")
        subs = self.manager.add_subscriptions(self.server_id, flt.path, [dest.path], owned=owned)
        return [] if owned else [*(s.path for s in subs), flt.path, dest.path]

    def remove_permanent(self, paths: list[CIMInstanceName]) -> None:
        subs = [p for p in paths if p.classname == "CIM_IndicationSubscription"]
        filters = [p for p in paths if p.classname == "CIM_IndicationFilter"]
        dests = [p for p in paths if p.classname == "CIM_ListenerDestinationCIMXML"]
        self.manager.remove_subscriptions(self.server_id, subs)
        for path in filters:
            self.manager.remove_filter(self.server_id, path)
        self.manager.remove_destinations(self.server_id, dests)


@contextmanager
def subscriber(server: Served) -> Iterator[Subscriber]:
    manager = WBEMSubscriptionManager(f"model{uuid.uuid4().hex[:6]}")
    server_id = manager.add_server(WBEMServer(server.connection()))
    try:
        yield Subscriber(manager, server_id)
    finally:
        manager.remove_server(server_id)


def states(received: list[CIMInstance]) -> list[tuple[int, int]]:
    return [(int(i["PreviousInstance"]["EnabledState"]), int(i["SourceInstance"]["EnabledState"])) for i in received]


def test_power_changes_in_order_to_owned_and_permanent_subscriptions(server: Served) -> None:
    conn = server.live.connection(NS)
    vm = define_vm(conn, "indicated")
    expected = [pair for _, pairs in SEQUENCE for pair in pairs]
    # One more start after the sequence: deliveries keep their order, so its
    # two indications coming next show nothing was sent twice or extra.
    marker = SEQUENCE[0]
    with subscriber(server) as sub, listening() as dmtf, listening() as wmi:
        sub.subscribe(dmtf, STATE_CHANGES, "DMTF:CQL", owned=True)
        permanent = sub.subscribe(wmi, WMI_STATE_CHANGES, "WQL", owned=False)
        try:
            for requested, _ in [*SEQUENCE, marker]:
                code, job = request_state(conn, vm, requested)
                assert code == 4096 and job["JobState"] == 7
            got = {name: stream.collect(len(expected) + 2, timeout=DEADLINE)
                   for name, stream in (("dmtf", dmtf), ("wmi", wmi))}
        finally:
            sub.remove_permanent(permanent)
    for everything in got.values():
        assert states(everything[len(expected):]) == marker[1]
        received = everything[:len(expected)]
        assert states(received) == expected
        for indication, (requested, _) in zip(received, [s for s in SEQUENCE for _ in range(2)]):
            assert indication.classname == "CIM_InstModification"
            assert indication["SourceInstance"]["Name"] == vm["Name"]
            assert indication["SourceInstance"]["ElementName"] == "indicated"
        # Into the transitional state the request is in flight; out of it, settled.
        requested_states = [(int(i["PreviousInstance"]["RequestedState"]), int(i["SourceInstance"]["RequestedState"]))
                            for i in received]
        assert requested_states == [p for r, _ in SEQUENCE for p in ((IDLE, r), (r, IDLE))]
        numbers = [int(i["SequenceNumber"]) for i in received]
        assert numbers == sorted(numbers)
    # Full instances, rendered as GetInstance renders them.
    last = got["dmtf"][-1]["SourceInstance"]
    now = conn.GetInstance(vm)
    for name in ("Name", "ElementName", "EnabledState", "RequestedState", "Caption", "TimeOfLastStateChange"):
        assert last[name] == now[name], name
    assert got["dmtf"][-1]["SourceInstanceModelPath"].endswith(f'Name="{vm["Name"]}"')


def _add_nic(conn, vm: CIMInstanceName, name: str) -> CIMInstanceName:
    vssd = conn.Associators(vm, AssocClass="Msvm_SettingsDefineState", ResultClass="Msvm_VirtualSystemSettingData")[0]
    nic = template(conn, "Msvm_SyntheticEthernetPortSettingData", SYNTHETIC_NIC)
    nic["ElementName"] = name
    nic["VirtualSystemIdentifiers"] = ["{" + str(uuid.uuid4()) + "}"]
    out = check(conn, conn.InvokeMethod("AddResourceSettings", service(conn), AffectedConfiguration=vssd.path,
                                        ResourceSettings=[nic.tocimxmlstr()]))
    return out["ResultingResourceSettings"][0]


def test_nic_settings_created_and_deleted_in_wmi_form(server: Served) -> None:
    conn = server.live.connection(NS)
    vm = define_vm(conn, "with-nic")
    created_q = "SELECT * FROM __InstanceCreationEvent WITHIN 2 WHERE TargetInstance ISA 'Msvm_SyntheticEthernetPortSettingData'"
    deleted_q = "SELECT * FROM __InstanceDeletionEvent WITHIN 2 WHERE TargetInstance ISA 'Msvm_SyntheticEthernetPortSettingData'"
    with subscriber(server) as sub, listening() as created, listening() as deleted:
        sub.subscribe(created, created_q, "WQL")
        sub.subscribe(deleted, deleted_q, "WQL")
        nic = _add_nic(conn, vm, "port-1")
        [born] = created.collect(1, timeout=DEADLINE)
        check(conn, conn.InvokeMethod("RemoveResourceSettings", service(conn), ResourceSettings=[nic]))
        # In order per listener: had the creation reached `deleted` (or the
        # deletion `created`), it would be the next one there.
        [gone] = deleted.collect(1, timeout=DEADLINE)
        _add_nic(conn, vm, "port-2")
        [marker] = created.collect(1, timeout=DEADLINE)
    assert born.classname == "CIM_InstCreation" and gone.classname == "CIM_InstDeletion"
    assert marker.classname == "CIM_InstCreation" and marker["SourceInstance"]["ElementName"] == "port-2"
    for indication in (born, gone):
        source = indication["SourceInstance"]
        assert source.classname == "Msvm_SyntheticEthernetPortSettingData"
        assert source["InstanceID"] == nic["InstanceID"] and source["ElementName"] == "port-1"
        assert source["ResourceSubType"] == SYNTHETIC_NIC and source["Address"]


def test_job_created_progresses_and_completes(server: Served) -> None:
    conn = server.live.connection(NS)
    vm = define_vm(conn, "jobbed")
    jobs_q = "SELECT * FROM CIM_InstIndication WHERE SourceInstance ISA Msvm_ConcreteJob"
    with subscriber(server) as sub, listening() as stream:
        sub.subscribe(stream, jobs_q, "DMTF:CQL")
        code, out = conn.InvokeMethod("RequestStateChange", vm, RequestedState=Uint16(2))
        assert code == 4096
        job_id = out["Job"]["InstanceID"]
        seen: list[CIMInstance] = []
        for indication in stream.iterate(timeout=DEADLINE):
            if indication["SourceInstance"]["InstanceID"] == job_id:
                seen.append(indication)
                if indication["SourceInstance"]["JobState"] == 7:
                    break
        request_state(conn, vm, 3)
    assert seen[0].classname == "CIM_InstCreation"
    assert [i.classname for i in seen[1:]] == ["CIM_InstModification"] * (len(seen) - 1)
    progress = [int(i["SourceInstance"]["PercentComplete"]) for i in seen]
    assert progress == sorted(progress) and progress[-1] == 100 and len(set(progress)) > 2
    done = seen[-1]
    assert done["SourceInstance"]["JobState"] == 7 and done["SourceInstance"]["ErrorCode"] == 0
    assert done["PreviousInstance"]["JobState"] != 7
    assert done["SourceInstance"]["Caption"] == "Virtual machine state change"


def test_integration_components_appear_on_start_and_go_on_stop(server: Served) -> None:
    conn = server.live.connection(NS)
    vm = define_vm(conn, "components")
    query = "SELECT * FROM CIM_InstIndication WHERE SourceInstance ISA Msvm_ShutdownComponent"
    with subscriber(server) as sub, listening() as stream:
        sub.subscribe(stream, query, "DMTF:CQL")
        request_state(conn, vm, 2)
        [born] = stream.collect(1, timeout=DEADLINE)
        live = conn.EnumerateInstances("Msvm_ShutdownComponent")
        request_state(conn, vm, 3)
        [gone] = stream.collect(1, timeout=DEADLINE)
    assert (born.classname, gone.classname) == ("CIM_InstCreation", "CIM_InstDeletion")
    assert born["SourceInstance"]["SystemName"] == vm["Name"] == gone["SourceInstance"]["SystemName"]
    mine = next(i for i in live if i["SystemName"] == vm["Name"])
    assert born["SourceInstance"]["DeviceID"] == mine["DeviceID"]
    assert born["SourceInstance"]["OperationalStatus"] == mine["OperationalStatus"]


def test_management_service_method_calls(server: Served) -> None:
    conn = server.live.connection(NS)
    query = "SELECT * FROM CIM_InstMethodCall WHERE SourceInstance ISA Msvm_VirtualSystemManagementService"
    with subscriber(server) as sub, listening() as stream:
        sub.subscribe(stream, query, "DMTF:CQL")
        vm = define_vm(conn, "called")
        pre, post = stream.collect(2, timeout=DEADLINE)
    assert (pre["MethodName"], post["MethodName"]) == ("DefineSystem", "DefineSystem")
    assert (pre["PreCall"], post["PreCall"]) == (True, False)
    assert post["ReturnValue"] == "0"
    assert "ResultingSystem" not in pre["MethodParameters"]
    assert post["MethodParameters"]["ResultingSystem"]["Name"] == vm["Name"]
    # An EmbeddedInstance parameter sent as text comes back as that text.
    settings = pre["MethodParameters"]["SystemSettings"]
    assert settings.startswith('<INSTANCE CLASSNAME="Msvm_VirtualSystemSettingData">') and ">called<" in settings
    assert pre["SourceInstance"]["Name"] == "vmms"
