"""Units of the indication package that need no server: listener URLs,
filter routing in both query forms, the store's round trip, the stamp,
and a destination worker's retry window against a scripted transport."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from pywbem import CIMDateTime, CIMError, CIMInstance, CIMInstanceName, Uint16

from cimprovider.indications import delivery
from cimprovider.indications.access import ListenerAccess
from cimprovider.indications.delivery import DeliveryHooks, DestinationWorker
from cimprovider.indications.records import (
    DeliverySettings,
    FilterRecord,
    SubscriptionRecord,
    properties_from_json,
    properties_to_json,
)
from cimprovider.indications.routing import build_routes, match
from cimprovider.indications.source import ChangeKind, IndicationStamp, InstanceChange, MethodCall, delivered_copy
from cimprovider.indications.store import SubscriptionStore
from cimprovider.indications.transport import DeliveryFailed, ListenerAddress
from cimprovider.query import StaticQueryContext
from tests.support.waiting import wait_until

V2 = "root/virtualization/v2"
CTX = StaticQueryContext(V2, "host", {"Msvm_ComputerSystem": "CIM_ComputerSystem", "CIM_ComputerSystem": None})


def vm(state: int, name: str = "A") -> CIMInstance:
    keys = {"CreationClassName": "Msvm_ComputerSystem", "Name": name}
    return CIMInstance("Msvm_ComputerSystem", properties={**keys, "EnabledState": Uint16(state)},
                       path=CIMInstanceName("Msvm_ComputerSystem", keybindings=keys, namespace=V2))


@pytest.mark.parametrize("url, expected", [
    ("http://127.0.0.1:5990", ("http", "127.0.0.1", 5990, "/")),
    ("https://listener.example/cimlistener/x", ("https", "listener.example", 5991, "/cimlistener/x")),
    ("HTTP://[::1]:7000/p?q=1", ("http", "::1", 7000, "/p?q=1")),
])
def test_listener_urls(url, expected) -> None:
    a = ListenerAddress.parse(url)
    assert (a.scheme, a.host, a.port, a.path) == expected


@pytest.mark.parametrize("url", ["ftp://h/", "h:5990", "http://", "http://h:70000", "http://u:p@h/", "mailto:x@y"])
def test_unusable_listener_urls(url) -> None:
    with pytest.raises(ValueError):
        ListenerAddress.parse(url)


def record(name: str, query: str, language: str = "WQL", namespaces: list[str] | None = None) -> FilterRecord:
    props = {"Name": ("string", name, False), "Query": ("string", query, False),
             "QueryLanguage": ("string", language, False)}
    if namespaces is not None:
        props["SourceNamespaces"] = ("string", namespaces, True)
    return FilterRecord(name, props)


def test_routes_match_dmtf_and_wmi_forms_and_respect_namespaces_and_state() -> None:
    filters = [
        record("dmtf", "SELECT * FROM CIM_InstModification WHERE SourceInstance ISA Msvm_ComputerSystem "
                       "AND SourceInstance.EnabledState <> PreviousInstance.EnabledState", "DMTF:CQL"),
        record("wmi", "SELECT * FROM __InstanceModificationEvent WITHIN 2 WHERE TargetInstance ISA "
                      "'Msvm_ComputerSystem' AND TargetInstance.EnabledState != PreviousInstance.EnabledState"),
        record("created", "SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'CIM_ComputerSystem'"),
        record("elsewhere", "SELECT * FROM CIM_InstIndication", namespaces=["root/interop"]),
        record("off", "SELECT * FROM CIM_InstIndication"),
    ]
    subs = [SubscriptionRecord(f.name, "d") for f in filters[:-1]]
    subs.append(SubscriptionRecord("off", "d", {"SubscriptionState": ("uint16", Uint16(4), False)}))
    routes = build_routes(filters, subs)
    assert [r.filter_name for r in routes] == ["dmtf", "wmi", "created", "elsewhere"]

    def selected(change) -> list[str]:
        return [m.route.filter_name for m in match(routes, V2, change.indication(), CTX)]

    assert selected(InstanceChange(ChangeKind.MODIFIED, V2, vm(2), vm(3))) == ["dmtf", "wmi"]
    assert selected(InstanceChange(ChangeKind.MODIFIED, V2, vm(2), vm(2))) == []
    assert selected(InstanceChange(ChangeKind.CREATED, V2, vm(3))) == ["created"]
    assert selected(InstanceChange(ChangeKind.DELETED, V2, vm(3))) == []


def test_a_stamped_projection_carries_identity_and_sequence() -> None:
    query = record("p", "SELECT SourceInstance FROM CIM_InstModification")
    (route,) = build_routes([query], [SubscriptionRecord("p", "d")])
    stamp = IndicationStamp("host.example")
    indication = stamp.stamp(V2, InstanceChange(ChangeKind.MODIFIED, V2, vm(2), vm(3)).indication())
    (found,) = match((route,), V2, indication, CTX)
    out = delivered_copy(found.projected, indication, "p", "ctx", 7)
    assert "PreviousInstance" not in out.properties
    assert out["SourceInstance"]["EnabledState"] == 2
    assert out["SourceInstanceHost"] == "host.example"
    assert out["SourceInstanceModelPath"].startswith("/root/virtualization/v2:Msvm_ComputerSystem.")
    assert isinstance(out["IndicationTime"], CIMDateTime)
    assert (out["IndicationFilterName"], out["SequenceContext"], out["SequenceNumber"]) == ("p", "ctx", 7)
    assert out["IndicationIdentifier"].startswith(stamp.session)


def test_method_call_indication() -> None:
    params = CIMInstance("__MethodParameters", properties={"RequestedState": Uint16(2)})
    ind = MethodCall(V2, vm(3), "RequestStateChange", params, return_value=4096).indication()
    assert ind.classname == "CIM_InstMethodCall"
    assert (ind["MethodName"], ind["ReturnValue"], ind["PreCall"]) == ("RequestStateChange", "4096", False)


def test_bad_filter_queries_raise_cim_errors() -> None:
    from cimprovider.indications.routing import compile_filter
    with pytest.raises(CIMError) as err:
        compile_filter(record("x", "SELECT * FROM Msvm_ComputerSystem"))
    assert err.value.status_code == 15


def test_store_round_trips_and_survives_reopening(tmp_path: Path) -> None:
    props = {"Name": ("string", "f", False), "SourceNamespaces": ("string", [V2], True),
             "IndividualSubscriptionSupported": ("boolean", True, False),
             "SubscriptionStartTime": ("datetime", CIMDateTime("20240101000000.000000+000"), False),
             "Empty": ("uint16", None, False)}
    assert properties_from_json(properties_to_json(props)) == props
    store = SubscriptionStore(tmp_path / "s.sqlite3")
    store.put_filter(FilterRecord("f", props))
    ids = store.add_pending([("d", "f", 1.0, b"<one/>"), ("d", "f", 2.0, b"<two/>")])
    store.put_settings(DeliverySettings(retry_attempts=1, retry_interval=0.5))
    store.close()
    again = SubscriptionStore(tmp_path / "s.sqlite3")
    assert again.filters()[0].source_namespaces == [V2]
    assert [p.body for p in again.pending()] == [b"<one/>", b"<two/>"]
    assert again.settings().retry_interval == 0.5
    again.remove_pending(ids[:1])
    assert again.pending_count("d") == 1
    again.close()


class Script:
    """A transport that fails while `down` is set and records what it got."""

    def __init__(self) -> None:
        self.down = True
        self.sent: list[bytes] = []
        self.lock = threading.Lock()

    def __call__(self, address, body, timeout, access=None) -> None:
        if self.down:
            raise DeliveryFailed("connection refused")
        with self.lock:
            self.sent.append(body)


def worker_for(tmp_path: Path, monkeypatch, settings: DeliverySettings):
    script = Script()
    monkeypatch.setattr(delivery, "send_export", script)
    store = SubscriptionStore(tmp_path / "w.sqlite3")
    gave_up: list[tuple[str, str]] = []
    too_long: list[str] = []
    hooks = DeliveryHooks(lambda: settings, lambda d, f: gave_up.append((d, f)), too_long.append)
    worker = DestinationWorker("d", "http://127.0.0.1:1", store, hooks, timeout=1, max_pending=3,
                               access=ListenerAccess(), sequence_context="c")
    return worker, store, script, gave_up, too_long


def enqueue(worker, store, bodies: list[bytes]) -> None:
    now = time.time()
    ids = store.add_pending([("d", "f", now, b) for b in bodies])
    worker.enqueue([delivery.PendingDelivery(i, "d", "f", now, b) for i, b in zip(ids, bodies)])


def wait_for(condition) -> bool:
    return bool(wait_until(condition, "the worker's condition"))


def test_worker_delivers_in_order_once_the_listener_returns(tmp_path, monkeypatch) -> None:
    worker, store, script, gave_up, _ = worker_for(
        tmp_path, monkeypatch, DeliverySettings(retry_attempts=1200, retry_interval=0.05))  # a 60 s window
    enqueue(worker, store, [b"1", b"2", b"3"])
    assert not worker.has_room()
    assert wait_for(lambda: worker.counters.failed_attempts >= 2)
    assert script.sent == []
    script.down = False
    assert wait_for(worker.idle)
    assert script.sent == [b"1", b"2", b"3"] and gave_up == []
    worker.close()
    assert store.pending_count() == 0


def test_worker_gives_up_after_the_retry_window_and_reports(tmp_path, monkeypatch) -> None:
    worker, store, script, gave_up, too_long = worker_for(
        tmp_path, monkeypatch,
        DeliverySettings(retry_attempts=2, retry_interval=0.05, removal_interval=0.05))
    enqueue(worker, store, [b"1", b"2"])
    assert wait_for(worker.idle)
    assert gave_up == [("d", "f"), ("d", "f")]
    assert too_long and worker.counters.given_up == 2 and script.sent == []
    worker.close()
    assert store.pending_count() == 0


def test_closing_a_failing_worker_keeps_its_pending_rows(tmp_path, monkeypatch) -> None:
    worker, store, script, gave_up, _ = worker_for(
        tmp_path, monkeypatch, DeliverySettings(retry_attempts=1200, retry_interval=0.05))  # a 60 s window
    enqueue(worker, store, [b"1"])
    assert wait_for(lambda: worker.counters.failed_attempts >= 1)
    worker.close()
    assert gave_up == [] and store.pending_count() == 1
