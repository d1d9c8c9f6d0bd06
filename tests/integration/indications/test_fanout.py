"""20 subscriptions over 5 listeners while 50 VMs change state: each
listener receives exactly what its filters select, each in raise order."""

from __future__ import annotations

from collections import Counter
from contextlib import ExitStack

from pywbem import CIMInstance

from cimprovider.indications.listener import listening
from tests.integration.indications.conftest import V2, Served, state_change
from tests.support.waiting import DEADLINE

LISTENERS = 5
FILTERS_PER_LISTENER = 4
VMS = 50
STATES = (2, 3, 6, 9, 32768, 32769)


def filter_query(index: int) -> tuple[str, str, callable]:
    """Twenty distinct filters and the same selection as a Python predicate."""
    state = STATES[index % len(STATES)]
    bucket = index % 5
    kinds = [
        (f"SELECT * FROM CIM_InstModification WHERE SourceInstance ISA Msvm_ComputerSystem "
         f"AND SourceInstance.EnabledState = {state}", "DMTF:CQL",
         lambda vm, old, new: new == state),
        (f"SELECT * FROM __InstanceModificationEvent WHERE TargetInstance ISA 'Msvm_ComputerSystem' "
         f"AND PreviousInstance.EnabledState = {state}", "WQL",
         lambda vm, old, new: old == state),
        (f"SELECT * FROM CIM_InstModification WHERE SourceInstance.Name LIKE 'vm{bucket}%'", "WQL",
         lambda vm, old, new: vm.startswith(f"vm{bucket}")),
        ("SELECT * FROM CIM_InstIndication WHERE SourceInstance ISA 'CIM_ComputerSystem'", "WQL",
         lambda vm, old, new: True),
    ]
    return kinds[index % len(kinds)]


def test_twenty_subscriptions_five_listeners(server: Served) -> None:
    conn = server.connection()
    created = []
    with ExitStack() as stack:
        streams = [stack.enter_context(listening()) for _ in range(LISTENERS)]
        expected_rules: list[list[tuple[int, callable]]] = [[] for _ in range(LISTENERS)]
        for listener_index, stream in enumerate(streams):
            dest = conn.CreateInstance(CIMInstance("CIM_ListenerDestinationCIMXML", properties={
                "Name": f"fan-{listener_index}", "Destination": stream.listener_url}))
            created.append(dest)
            for k in range(FILTERS_PER_LISTENER):
                index = listener_index * FILTERS_PER_LISTENER + k
                query, language, rule = filter_query(index)
                flt = conn.CreateInstance(CIMInstance("CIM_IndicationFilter", properties={
                    "Name": f"fan-filter-{index}", "Query": query, "QueryLanguage": language,
                    "SourceNamespaces": [V2]}))
                created.insert(0, flt)
                created.insert(0, conn.CreateInstance(CIMInstance(
                    "CIM_IndicationSubscription", properties={"Filter": flt, "Handler": dest})))
                expected_rules[listener_index].append((index, rule))

        changes = []
        for step in range(4):
            for n in range(VMS):
                old, new = STATES[(n + step) % len(STATES)], STATES[(n + step + 1) % len(STATES)]
                changes.append((f"vm{n}", old, new))
        # Raised last, it matches each listener's catch-all filter: deliveries
        # keep their order, so an indication sent by mistake would take the
        # place of the marker's among the first len(expected).
        changes.append(("marker", 3, 2))
        for name, old, new in changes:
            server.service.publish(state_change(name, old, new))

        for listener_index, stream in enumerate(streams):
            expected = [(f"fan-filter-{index}", name, old, new)
                        for name, old, new in changes
                        for index, rule in expected_rules[listener_index] if rule(name, old, new)]
            received = stream.collect(len(expected), timeout=DEADLINE)
            got = [(i["IndicationFilterName"], i["SourceInstance"]["Name"],
                    i["PreviousInstance"]["EnabledState"], i["SourceInstance"]["EnabledState"]) for i in received]
            assert Counter(got) == Counter(expected)
            # Per filter, the listener sees the changes in the order raised.
            for index, _ in expected_rules[listener_index]:
                name = f"fan-filter-{index}"
                assert [g for g in got if g[0] == name] == [e for e in expected if e[0] == name]
            numbers = [i["SequenceNumber"] for i in received]
            assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
    for path in created:
        conn.DeleteInstance(path)
