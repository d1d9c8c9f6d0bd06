"""The requests a pull enumeration is made of, and a GetInstance, as pywbem
sends them over HTTP, are recognised without an XML parser
(wire/common_requests.py); none takes the chunked walk. safexml.counts
says which way read each body."""

from __future__ import annotations

from pywbem import WBEMConnection

from cimprovider.wire import safexml


def parse_counts() -> tuple[int, int, int]:
    return safexml.counts.recognised, safexml.counts.small, safexml.counts.walked


def since(before: tuple[int, int, int]) -> tuple[int, int, int]:
    recognised, small, walked = parse_counts()
    return recognised - before[0], small - before[1], walked - before[2]


def pull_everything(conn: WBEMConnection, classname: str) -> tuple[int, list]:
    """Requests sent and instances received by one pull enumeration, one
    instance per round trip."""
    result = conn.OpenEnumerateInstances(classname, MaxObjectCount=1)
    requests, instances = 1, list(result.instances)
    while not result.eos:
        result = conn.PullInstancesWithPath(result.context, MaxObjectCount=1)
        requests += 1
        instances += result.instances
    return requests, instances


def test_pywbem_pull_enumeration_is_recognised(conn: WBEMConnection) -> None:
    before = parse_counts()
    requests, instances = pull_everything(conn, "CIM_RegisteredProfile")
    opened = conn.OpenEnumerateInstances("CIM_RegisteredProfile", MaxObjectCount=1)
    conn.CloseEnumeration(opened.context)
    assert len(instances) >= 2 and requests >= len(instances)
    assert since(before) == (requests + 2, 0, 0)
    before = parse_counts()
    got = conn.GetInstance(instances[0].path, PropertyList=["RegisteredName", "RegisteredVersion"])
    assert got["RegisteredName"] == instances[0]["RegisteredName"]
    assert since(before) == (1, 0, 0)


def test_pywbem_iterated_enumeration_is_recognised(server) -> None:
    conn = server.connection(use_pull_operations=True)
    conn.debug = True  # keeps the last request, to see that it was a pull
    before = parse_counts()
    profiles = list(conn.IterEnumerateInstances("CIM_RegisteredProfile", MaxObjectCount=1))
    recognised, small, walked = since(before)
    assert len(profiles) >= 2
    assert (recognised >= len(profiles), small, walked) == (True, 0, 0)
    assert 'NAME="PullInstancesWithPath"' in conn.last_raw_request
