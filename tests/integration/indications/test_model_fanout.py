"""The real model under fan-out: 50 VMs started and stopped through
RequestStateChange while 20 subscriptions over 5 listeners watch; each
listener receives exactly what its filters select, each VM's changes in
the order they happened."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack

from pywbem import CIMInstance, Uint16

from cimprovider.indications.listener import listening
from tests.integration.indications.conftest import Served
from tests.integration.model.hyperv import NS, define_vm, wait_job
from tests.support.waiting import DEADLINE

LISTENERS = 5
FILTERS_PER_LISTENER = 4
VMS = 50
STATES = (2, 3, 4, 10)
# Each VM is started, then stopped: (previous, new) EnabledState in order.
START = [(3, 10), (10, 2)]
STOP = [(2, 4), (4, 3)]

Rule = Callable[[str, int, int], bool]


def filter_query(index: int) -> tuple[str, str, Rule]:
    """Twenty distinct filters and the same selection as a Python predicate."""
    state = STATES[index % len(STATES)]
    bucket = index % 5
    kinds: list[tuple[str, str, Rule]] = [
        (f"SELECT * FROM CIM_InstModification WHERE SourceInstance ISA Msvm_ComputerSystem "
         f"AND SourceInstance.EnabledState = {state}", "DMTF:CQL",
         lambda vm, old, new: new == state),
        (f"SELECT * FROM __InstanceModificationEvent WITHIN 2 WHERE TargetInstance ISA 'Msvm_ComputerSystem' "
         f"AND PreviousInstance.EnabledState = {state}", "WQL",
         lambda vm, old, new: old == state),
        (f"SELECT * FROM CIM_InstModification WHERE SourceInstance ISA Msvm_ComputerSystem "
         f"AND SourceInstance.ElementName LIKE 'fan{bucket}%'", "WQL",
         lambda vm, old, new: vm.startswith(f"fan{bucket}")),
        ("SELECT * FROM CIM_InstIndication WHERE SourceInstance ISA 'CIM_ComputerSystem'", "WQL",
         lambda vm, old, new: True),
    ]
    return kinds[index % len(kinds)]


def drive(conn, vms, requested: int) -> None:
    """Ask every VM at once, then wait for every job: the transitions overlap."""
    jobs = []
    for vm in vms:
        code, out = conn.InvokeMethod("RequestStateChange", vm, RequestedState=Uint16(requested))
        assert code == 4096
        jobs.append(out["Job"])
    for job in jobs:
        assert wait_job(conn, job)["JobState"] == 7


def test_fifty_vms_twenty_subscriptions_five_listeners(server: Served) -> None:
    model = server.live.connection(NS)
    vms = [define_vm(model, f"fan{n:02d}") for n in range(VMS)]
    names = {vm["Name"]: f"fan{n:02d}" for n, vm in enumerate(vms)}
    marker = define_vm(model, "fanmarker")
    names[marker["Name"]] = "fanmarker"
    conn = server.connection()
    created = []
    with ExitStack() as stack:
        streams = [stack.enter_context(listening()) for _ in range(LISTENERS)]
        rules: list[list[tuple[int, Rule]]] = [[] for _ in range(LISTENERS)]
        for listener_index, stream in enumerate(streams):
            dest = conn.CreateInstance(CIMInstance("CIM_ListenerDestinationCIMXML", properties={
                "Name": f"model-fan-{listener_index}", "Destination": stream.listener_url}))
            created.append(dest)
            for k in range(FILTERS_PER_LISTENER):
                index = listener_index * FILTERS_PER_LISTENER + k
                query, language, rule = filter_query(index)
                flt = conn.CreateInstance(CIMInstance("CIM_IndicationFilter", properties={
                    "Name": f"model-fan-filter-{index}", "Query": query, "QueryLanguage": language,
                    "SourceNamespaces": [NS]}))
                created.insert(0, flt)
                created.insert(0, conn.CreateInstance(CIMInstance(
                    "CIM_IndicationSubscription", properties={"Filter": flt, "Handler": dest})))
                rules[listener_index].append((index, rule))

        drive(model, vms, 2)
        drive(model, vms, 3)
        # Started last, the marker matches each listener's catch-all filter:
        # deliveries keep their order, so an indication sent by mistake would
        # take the place of one of the marker's among the first len(expected).
        drive(model, [marker], 2)
        changes = [(names[vm["Name"]], old, new) for vm in vms for old, new in START + STOP]
        changes += [("fanmarker", old, new) for old, new in START]

        for listener_index, stream in enumerate(streams):
            expected = [(f"model-fan-filter-{index}", name, old, new)
                        for name, old, new in changes
                        for index, rule in rules[listener_index] if rule(name, old, new)]
            received = stream.collect(len(expected), timeout=DEADLINE)
            got = [(i["IndicationFilterName"], i["SourceInstance"]["ElementName"],
                    int(i["PreviousInstance"]["EnabledState"]), int(i["SourceInstance"]["EnabledState"]))
                   for i in received]
            assert Counter(got) == Counter(expected)
            # Per filter and VM, the changes arrive in the order they happened.
            for index, _ in rules[listener_index]:
                for name in names.values():
                    key = (f"model-fan-filter-{index}", name)
                    assert [g for g in got if g[:2] == key] == [e for e in expected if e[:2] == key]
            numbers = [int(i["SequenceNumber"]) for i in received]
            assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
    for path in created:
        conn.DeleteInstance(path)
