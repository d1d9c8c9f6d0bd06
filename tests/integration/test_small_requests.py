"""The requests a pull enumeration is made of, as pywbem sends them over
HTTP, are read on the request parser's one-call path for small bodies,
never on the chunked walk (safexml.counts says which path read each)."""

from __future__ import annotations

from pywbem import WBEMConnection

from cimprovider.wire import safexml


def parse_counts() -> tuple[int, int]:
    return safexml.counts.small, safexml.counts.walked


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


def test_pywbem_pull_enumeration_is_read_on_the_small_path(conn: WBEMConnection) -> None:
    before = parse_counts()
    requests, instances = pull_everything(conn, "CIM_RegisteredProfile")
    opened = conn.OpenEnumerateInstances("CIM_RegisteredProfile", MaxObjectCount=1)
    conn.CloseEnumeration(opened.context)
    got = conn.GetInstance(instances[0].path, PropertyList=["RegisteredName", "RegisteredVersion"])
    after = parse_counts()
    assert len(instances) >= 2 and requests >= len(instances)
    assert got["RegisteredName"] == instances[0]["RegisteredName"]
    assert (after[0] - before[0], after[1] - before[1]) == (requests + 3, 0)


def test_pywbem_iterated_enumeration_is_read_on_the_small_path(server) -> None:
    conn = server.connection(use_pull_operations=True)
    conn.debug = True  # keeps the last request, to see that it was a pull
    before = parse_counts()
    profiles = list(conn.IterEnumerateInstances("CIM_RegisteredProfile", MaxObjectCount=1))
    after = parse_counts()
    assert len(profiles) >= 2
    assert after[1] == before[1]
    assert after[0] - before[0] >= len(profiles)
    assert 'NAME="PullInstancesWithPath"' in conn.last_raw_request
