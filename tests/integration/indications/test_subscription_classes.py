"""The subscription classes as pywbem's WBEMSubscriptionManager drives
them, and as a client creating instances by hand meets their checks."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from pywbem import (
    CIM_ERR_ALREADY_EXISTS,
    CIM_ERR_FAILED,
    CIM_ERR_INVALID_PARAMETER,
    CIM_ERR_INVALID_QUERY,
    CIM_ERR_NOT_FOUND,
    CIM_ERR_QUERY_LANGUAGE_NOT_SUPPORTED,
    CIMError,
    CIMInstance,
    CIMInstanceName,
    Uint16,
    Uint32,
    WBEMServer,
    WBEMSubscriptionManager,
)

from cimprovider.indications.listener import free_port
from tests.integration.indications.conftest import STATE_CHANGES, V2, WMI_STATE_CHANGES, Served, served


@pytest.fixture
def manager(server: Served):
    manager = WBEMSubscriptionManager("itest")
    server_id = manager.add_server(WBEMServer(server.connection()))
    yield manager, server_id
    manager.remove_server(server_id)


def local(paths: list[CIMInstanceName]) -> list[CIMInstanceName]:
    """Paths without the host that ReferenceNames and Associators add."""
    out = []
    for path in paths:
        path = path.copy()
        path.host = None
        out.append(path)
    return out


def names(conn, classname: str) -> list[str]:
    return sorted(p["Name"] if "Name" in p.keybindings else str(p) for p in conn.EnumerateInstanceNames(classname))


def test_owned_destination_filter_and_subscription_round_trip(server: Served, manager) -> None:
    manager, sid = manager
    conn = server.connection()
    url = f"http://127.0.0.1:{free_port()}"
    dest = manager.add_destination(sid, url, owned=True, destination_id="d1")
    flt = manager.add_filter(sid, [V2], STATE_CHANGES, "DMTF:CQL", owned=True, filter_id="f1")
    (sub,) = manager.add_subscriptions(sid, flt.path, [dest.path], owned=True)

    assert dest["Destination"] == url and dest["PersistenceType"] == 3
    assert flt["Query"] == STATE_CHANGES and flt["SourceNamespaces"] == [V2]
    assert sub["SubscriptionState"] == 2
    # The returned paths are the ones GetInstance, ReferenceNames and
    # DeleteInstance accept.
    assert conn.GetInstance(sub.path).path == sub.path
    assert sub.path["Filter"] == flt.path and sub.path["Handler"] == dest.path
    assert local(conn.ReferenceNames(flt.path, ResultClass="CIM_IndicationSubscription")) == [sub.path]
    assert local(conn.ReferenceNames(dest.path, ResultClass="CIM_IndicationSubscription")) == [sub.path]
    assert [s.path for s in manager.get_owned_subscriptions(sid)] == [sub.path]
    assert local([i.path for i in conn.Associators(flt.path, AssocClass="CIM_IndicationSubscription")]) == [dest.path]

    manager.remove_subscriptions(sid, [sub.path])
    manager.remove_filter(sid, flt.path)
    manager.remove_destinations(sid, [dest.path])
    assert conn.EnumerateInstanceNames("CIM_IndicationSubscription") == []
    assert "pywbemfilter:itest:f1" not in names(conn, "CIM_IndicationFilter")


def test_permanent_instances_survive_remove_server(server: Served) -> None:
    conn = server.connection()
    manager = WBEMSubscriptionManager("perm")
    sid = manager.add_server(WBEMServer(conn))
    dest = manager.add_destination(sid, f"http://127.0.0.1:{free_port()}", owned=False, name="perm-dest")
    flt = manager.add_filter(sid, [V2], WMI_STATE_CHANGES, "WQL", owned=False, name="perm-filter")
    manager.add_subscriptions(sid, flt.path, [dest.path], owned=False)
    owned = manager.add_filter(sid, [V2], STATE_CHANGES, "DMTF:CQL", owned=True, filter_id="tmp")
    manager.remove_server(sid)

    assert conn.GetInstance(dest.path)["Name"] == "perm-dest"
    assert conn.GetInstance(flt.path)["Query"] == WMI_STATE_CHANGES
    with pytest.raises(CIMError) as err:
        conn.GetInstance(owned.path)
    assert err.value.status_code == CIM_ERR_NOT_FOUND
    # A new manager sees them as permanent (not owned) and lists them.
    again = WBEMSubscriptionManager("perm")
    sid = again.add_server(WBEMServer(conn))
    assert [f.path for f in again.get_all_filters(sid) if f["Name"] == "perm-filter"] == [flt.path]
    assert again.get_owned_filters(sid) == []
    (sub,) = [s for s in again.get_all_subscriptions(sid) if s["Filter"] == flt.path]
    again.remove_subscriptions(sid, [sub.path])
    again.remove_filter(sid, flt.path)
    again.remove_destinations(sid, [dest.path])
    again.remove_server(sid)


def test_filter_or_destination_in_use_cannot_be_deleted(server: Served, manager) -> None:
    manager, sid = manager
    conn = server.connection()
    dest = manager.add_destination(sid, f"http://127.0.0.1:{free_port()}", owned=True, destination_id="used")
    flt = manager.add_filter(sid, [V2], STATE_CHANGES, "DMTF:CQL", owned=True, filter_id="used")
    manager.add_subscriptions(sid, flt.path, [dest.path], owned=True)
    for path in (flt.path, dest.path):
        with pytest.raises(CIMError) as err:
            conn.DeleteInstance(path)
        assert err.value.status_code == CIM_ERR_FAILED
        assert "subscription" in err.value.status_description


def filter_instance(name: str, query: str, language: str = "WQL", namespaces=None) -> CIMInstance:
    props = {"Name": name, "Query": query, "QueryLanguage": language}
    if namespaces is not None:
        props["SourceNamespaces"] = namespaces
    return CIMInstance("CIM_IndicationFilter", properties=props)


@pytest.mark.parametrize(
    "query, language, namespaces, code",
    [
        ("SELECT FROM WHERE", "WQL", None, CIM_ERR_INVALID_QUERY),
        ("SELECT * FROM Msvm_ComputerSystem", "WQL", None, CIM_ERR_INVALID_QUERY),  # not an indication class
        (STATE_CHANGES, "SQL92", None, CIM_ERR_QUERY_LANGUAGE_NOT_SUPPORTED),
        (STATE_CHANGES, "DMTF:CQL", ["root/nowhere"], CIM_ERR_INVALID_PARAMETER),
        ("", "WQL", None, CIM_ERR_INVALID_PARAMETER),
        # a misspelt class: the filter would wait for nothing, forever
        ("SELECT * FROM __InstanceModificationEvent WITHIN 2 WHERE TargetInstance ISA 'Msvm_ComputerSystm'", "WQL",
         None, CIM_ERR_INVALID_QUERY),
        ("SELECT * FROM CIM_InstModification WHERE SourceInstance ISA Msvm_ComputerSystem", "DMTF:CQL",
         ["root/interop"], CIM_ERR_INVALID_QUERY),  # no Msvm class lives where the filter looks
    ],
)
def test_bad_filters_are_refused(server: Served, query, language, namespaces, code) -> None:
    conn = server.connection()
    with pytest.raises(CIMError) as err:
        conn.CreateInstance(filter_instance("bad", query, language, namespaces))
    assert err.value.status_code == code
    assert "bad" not in names(conn, "CIM_IndicationFilter")


@pytest.mark.parametrize(
    "url", ["ftp://127.0.0.1:21/", "udp://127.0.0.1:5990", "http://", "not a url", "http://h:99999/", ""]
)
def test_bad_destination_urls_are_refused(server: Served, url: str) -> None:
    conn = server.connection()
    dest = CIMInstance("CIM_ListenerDestinationCIMXML", properties={"Name": "bad-url", "Destination": url})
    with pytest.raises(CIMError) as err:
        conn.CreateInstance(dest)
    assert err.value.status_code == CIM_ERR_INVALID_PARAMETER
    assert "bad-url" not in names(conn, "CIM_ListenerDestinationCIMXML")


def test_subscription_needs_existing_filter_and_handler(server: Served) -> None:
    conn = server.connection()
    dest_path = conn.CreateInstance(CIMInstance(
        "CIM_ListenerDestinationCIMXML", properties={"Name": "lonely", "Destination": "http://127.0.0.1:1"}))
    missing = CIMInstanceName("CIM_IndicationFilter", keybindings={
        "CreationClassName": "CIM_IndicationFilter", "Name": "nope",
        "SystemCreationClassName": "CIM_ComputerSystem", "SystemName": "x"}, namespace="root/interop")
    sub = CIMInstance("CIM_IndicationSubscription", properties={"Filter": missing, "Handler": dest_path})
    with pytest.raises(CIMError) as err:
        conn.CreateInstance(sub)
    assert err.value.status_code == CIM_ERR_INVALID_PARAMETER
    conn.DeleteInstance(dest_path)


def test_duplicates_are_refused_and_modify_validates(server: Served) -> None:
    conn = server.connection()
    path = conn.CreateInstance(filter_instance("dup", STATE_CHANGES, "DMTF:CQL"))
    with pytest.raises(CIMError) as err:
        conn.CreateInstance(filter_instance("dup", STATE_CHANGES, "DMTF:CQL"))
    assert err.value.status_code == CIM_ERR_ALREADY_EXISTS
    changed = conn.GetInstance(path)
    changed["Query"] = "SELECT * FROM"
    with pytest.raises(CIMError) as err:
        conn.ModifyInstance(changed)
    assert err.value.status_code == CIM_ERR_INVALID_QUERY
    changed["Query"] = WMI_STATE_CHANGES
    changed["QueryLanguage"] = "WQL"
    conn.ModifyInstance(changed)
    assert conn.GetInstance(path)["Query"] == WMI_STATE_CHANGES
    conn.DeleteInstance(path)


def test_indication_service_and_profile(server: Served) -> None:
    conn = server.connection()
    (service,) = conn.EnumerateInstances("CIM_IndicationService")
    assert service["DeliveryRetryAttempts"] == 3 and service["DeliveryRetryInterval"] == 30
    assert service["SubscriptionRemovalAction"] == 2
    (caps,) = conn.EnumerateInstances("CIM_IndicationServiceCapabilities")
    assert caps["SubscriptionsPersisted"] is True
    server_view = WBEMServer(conn)
    (profile,) = server_view.get_selected_profiles("DMTF", "Indications")
    assert profile["RegisteredVersion"] == "1.2.0"
    assert local(server_view.get_central_instances(profile.path)) == [service.path]

    service["DeliveryRetryInterval"] = Uint32(31)
    conn.ModifyInstance(service, PropertyList=["DeliveryRetryInterval"])
    assert conn.GetInstance(service.path)["DeliveryRetryInterval"] == 31
    service["SubscriptionRemovalAction"] = Uint16(9)
    with pytest.raises(CIMError) as err:
        conn.ModifyInstance(service, PropertyList=["SubscriptionRemovalAction"])
    assert err.value.status_code == CIM_ERR_INVALID_PARAMETER
    service["DeliveryRetryInterval"] = Uint32(30)
    conn.ModifyInstance(service, PropertyList=["DeliveryRetryInterval"])


def test_filters_destinations_and_subscriptions_beyond_the_limit_are_refused(tmp_path) -> None:
    """Each kind is bounded (a destination holds a delivery worker, every
    change is matched against every filter): one more is refused, naming
    the limit, and nothing of it is kept; deleting one makes room."""
    with served(tmp_path) as limited:
        limited.service.max_catalog = 2
        conn = limited.connection()
        filters = [conn.CreateInstance(filter_instance(f"f{i}", STATE_CHANGES, "DMTF:CQL")) for i in range(2)]
        handlers = [conn.CreateInstance(CIMInstance("CIM_ListenerDestinationCIMXML", properties={
            "Name": f"d{i}", "Destination": f"http://127.0.0.1:{free_port()}"})) for i in range(2)]
        subscribed = [conn.CreateInstance(CIMInstance("CIM_IndicationSubscription", properties={
            "Filter": filters[0], "Handler": handler})) for handler in handlers]
        one_more = {
            "CIM_IndicationFilter": filter_instance("f2", STATE_CHANGES, "DMTF:CQL"),
            "CIM_ListenerDestinationCIMXML": CIMInstance("CIM_ListenerDestinationCIMXML", properties={
                "Name": "d2", "Destination": f"http://127.0.0.1:{free_port()}"}),
            "CIM_IndicationSubscription": CIMInstance("CIM_IndicationSubscription", properties={
                "Filter": filters[1], "Handler": handlers[0]}),
        }
        for classname, instance in one_more.items():
            with pytest.raises(CIMError) as err:
                conn.CreateInstance(instance)
            assert err.value.status_code == CIM_ERR_FAILED
            assert f"at most 2 {classname} instances" in err.value.status_description
            assert len(conn.EnumerateInstanceNames(classname)) == 2
        conn.DeleteInstance(subscribed[1])
        conn.CreateInstance(one_more["CIM_IndicationSubscription"])
        assert len(conn.EnumerateInstanceNames("CIM_IndicationSubscription")) == 2


def test_concurrent_creates_never_pass_the_limit(tmp_path) -> None:
    """Twelve clients create filters at once against a limit of 3: three
    are kept, nine are refused naming the limit."""
    with served(tmp_path) as limited:
        limited.service.max_catalog = 3
        start = threading.Barrier(12)

        def create(i: int) -> int:
            conn = limited.connection()
            start.wait()
            try:
                conn.CreateInstance(filter_instance(f"racing-{i}", STATE_CHANGES, "DMTF:CQL"))
                return 0
            except CIMError as error:
                assert "at most 3 CIM_IndicationFilter instances" in error.status_description
                return error.status_code

        with ThreadPoolExecutor(12) as pool:
            codes = list(pool.map(create, range(12)))
        assert sorted(codes) == [0] * 3 + [CIM_ERR_FAILED] * 9
        assert len(limited.connection().EnumerateInstanceNames("CIM_IndicationFilter")) == 3

