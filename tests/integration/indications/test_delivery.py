"""Indications raised through the service's entry point, received by real
pywbem WBEMListeners: content, order, both query forms, retries across a
listener outage and a server restart, the removal policy, and listeners
that misbehave."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from pywbem import CIMInstance, Uint16

from cimprovider.indications import DeliverySettings
from cimprovider.indications.listener import free_port, listening, watch_indications
from tests.support.waiting import DEADLINE, wait_until
from tests.integration.indications.conftest import (
    STATE_CHANGES,
    V2,
    WMI_STATE_CHANGES,
    Served,
    served,
    state_change,
    vm,
)

RUNNING, OFF, SAVED, PAUSED = 2, 3, 6, 9
LIFECYCLE = [(OFF, RUNNING), (RUNNING, PAUSED), (PAUSED, RUNNING), (RUNNING, SAVED), (SAVED, RUNNING), (RUNNING, OFF)]


def subscribe(conn, url: str, name: str, query: str, language: str, **sub_props: object):
    dest = conn.CreateInstance(CIMInstance(
        "CIM_ListenerDestinationCIMXML", properties={"Name": f"{name}-dest", "Destination": url}))
    flt = conn.CreateInstance(CIMInstance("CIM_IndicationFilter", properties={
        "Name": f"{name}-filter", "Query": query, "QueryLanguage": language, "SourceNamespaces": [V2]}))
    return conn.CreateInstance(CIMInstance(
        "CIM_IndicationSubscription", properties={"Filter": flt, "Handler": dest, **sub_props}))


def states(indications: list[CIMInstance]) -> list[tuple[int, int]]:
    return [(i["PreviousInstance"]["EnabledState"], i["SourceInstance"]["EnabledState"]) for i in indications]


@pytest.mark.parametrize("query, language", [(STATE_CHANGES, "DMTF:CQL"), (STATE_CHANGES, "WQL"),
                                             (WMI_STATE_CHANGES, "WQL")])
def test_state_changes_arrive_in_order_with_previous_and_source(server: Served, query, language) -> None:
    with watch_indications(server.connection(), query, query_language=language) as stream:
        for old, new in LIFECYCLE:
            server.service.publish(state_change("A", old, new))
        # Not a state change: the filter must leave it out. Deliveries keep
        # their order, so the marker after it shows it was not sent.
        server.service.publish(state_change("A", OFF, OFF))
        server.service.publish(state_change("marker", OFF, RUNNING))
        received = stream.collect(len(LIFECYCLE) + 1, timeout=DEADLINE)
    assert states(received) == LIFECYCLE + [(OFF, RUNNING)]
    assert received.pop()["SourceInstance"]["Name"] == "marker"
    # The latency (WITHIN 2 is its upper bound) is measured by bench/indications.py.
    first = received[0]
    assert first.classname == "CIM_InstModification"
    assert first["SourceInstance"].classname == "Msvm_ComputerSystem"
    assert first["SourceInstanceModelPath"] == (
        '/root/virtualization/v2:Msvm_ComputerSystem.CreationClassName="Msvm_ComputerSystem",Name="A"')
    assert first["SourceInstanceHost"] == server.service.host
    assert first["IndicationIdentifier"] and first["IndicationTime"] is not None
    numbers = [i["SequenceNumber"] for i in received]
    assert numbers == list(range(numbers[0], numbers[0] + len(LIFECYCLE)))
    assert len({i["SequenceContext"] for i in received}) == 1


def test_select_list_is_projected(server: Served) -> None:
    query = "SELECT SourceInstance FROM CIM_InstCreation WHERE SourceInstance ISA 'CIM_ComputerSystem'"
    with watch_indications(server.connection(), query, query_language="WQL") as stream:
        server.service.publish(state_change("B", OFF, RUNNING))  # a modification: not selected
        from cimprovider.indications import ChangeKind, InstanceChange
        server.service.publish(InstanceChange(ChangeKind.CREATED, V2, vm("B", OFF)))
        (created,) = stream.collect(1, timeout=DEADLINE)
    assert created.classname == "CIM_InstCreation"
    assert "PreviousInstance" not in created.properties
    assert created["SourceInstance"]["Name"] == "B"
    assert created["SequenceNumber"] == 0


@contextmanager
def quick_policy(tmp_path, **settings: float) -> Iterator[Served]:
    with served(tmp_path) as s:
        s.service.put_settings(DeliverySettings(**settings))
        yield s


def test_listener_briefly_down_receives_everything(tmp_path) -> None:
    # 300 retries 0.2 s apart: the indications outlive any listener start-up.
    with quick_policy(tmp_path, retry_attempts=300, retry_interval=0.2) as s:
        port = free_port()
        subscribe(s.connection(), f"http://127.0.0.1:{port}", "down", STATE_CHANGES, "DMTF:CQL")
        for old, new in LIFECYCLE[:3]:
            s.service.publish(state_change("C", old, new))
        counters = s.service.worker("down-dest").counters
        wait_until(lambda: counters.failed_attempts >= 2, "two failed attempts while the listener is absent")
        with listening(port=port) as stream:
            for old, new in LIFECYCLE[3:]:
                s.service.publish(state_change("C", old, new))
            received = stream.collect(len(LIFECYCLE), timeout=DEADLINE)
        assert states(received) == LIFECYCLE


def test_pending_indications_survive_a_restart(tmp_path) -> None:
    port = free_port()
    with quick_policy(tmp_path, retry_attempts=240, retry_interval=0.5) as s:
        subscribe(s.connection(), f"http://127.0.0.1:{port}", "restart", STATE_CHANGES, "DMTF:CQL")
        for old, new in LIFECYCLE:
            s.service.publish(state_change("D", old, new))
        wait_until(lambda: s.service.store.pending_count() >= len(LIFECYCLE), "every indication pending")
        assert s.service.store.pending_count() == len(LIFECYCLE)
    # The server is gone; a new one on the same data directory delivers.
    with listening(port=port) as stream, served(tmp_path) as again:
        received = stream.collect(len(LIFECYCLE), timeout=DEADLINE)
        assert states(received) == LIFECYCLE
        assert again.service.flush(DEADLINE)
        assert again.service.store.pending_count() == 0


@pytest.mark.parametrize("policy, expect", [(None, "removed"), (3, "disabled"), (4, "removed")])
def test_listener_that_never_returns_leads_to_the_configured_removal(tmp_path, policy, expect) -> None:
    with quick_policy(tmp_path, retry_attempts=2, retry_interval=0.1, removal_action=2, removal_interval=0.5) as s:
        conn = s.connection()
        extra = {} if policy is None else {"OnFatalErrorPolicy": Uint16(policy)}
        sub = subscribe(conn, f"http://127.0.0.1:{free_port()}", "gone", STATE_CHANGES, "DMTF:CQL", **extra)
        deadline = time.monotonic() + DEADLINE
        outcome = "kept"
        while time.monotonic() < deadline:
            s.service.publish(state_change("E", OFF, RUNNING))
            subs = conn.EnumerateInstances("CIM_IndicationSubscription")
            if not subs:
                outcome = "removed"
                break
            if subs[0]["SubscriptionState"] == 4:
                outcome = "disabled"
                break
            time.sleep(0.1)  # polling, with a fresh indication each round
        assert outcome == expect
        # The filter and destination remain; nothing is left to deliver.
        assert conn.GetInstance(sub["Filter"])["Name"] == "gone-filter"
        assert s.service.flush(DEADLINE)
        assert s.service.store.pending_count() == 0


class BadListener:
    """A TCP server that answers garbage (or nothing at all, holding each
    connection until it is closed)."""

    def __init__(self, answer: bytes | None) -> None:
        self.answer = answer
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.requests = 0  # requests read, and held or answered
        self.held: list[socket.socket] = []
        self.closed = False
        self.lock = threading.Lock()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            conn.settimeout(DEADLINE)
            try:
                conn.recv(65536)
            except OSError:
                pass
            with self.lock:
                self.requests += 1
                if self.answer is None and not self.closed:
                    self.held.append(conn)  # hang: never answer
                    continue
            if self.answer is not None:
                conn.sendall(self.answer)
            conn.close()

    def close(self) -> None:
        with self.lock:
            self.closed = True
            held, self.held = self.held, []
        self.sock.close()
        for conn in held:
            conn.close()


@pytest.mark.parametrize("answer", [
    None,
    b"HTTP/1.0 200 OK\r\nContent-Type: text/xml\r\n\r\n<html>not cim</html>",
    b"garbage\r\n\r\n",
    b"HTTP/1.0 500 Oops\r\nContent-Length: 0\r\n\r\n",
])
def test_a_broken_listener_does_not_delay_the_others(tmp_path, answer) -> None:
    bad = BadListener(answer)
    try:
        with quick_policy(tmp_path, retry_attempts=1, retry_interval=0.3) as s:
            # Longer than the test waits for the good listener: if the
            # hanging one held the others up, they would not arrive in time.
            s.service.delivery_timeout = 2 * DEADLINE
            conn = s.connection()
            subscribe(conn, f"http://127.0.0.1:{bad.port}", "bad", STATE_CHANGES, "DMTF:CQL")
            with listening() as stream:
                subscribe(conn, stream.listener_url, "good", STATE_CHANGES, "DMTF:CQL")
                for old, new in LIFECYCLE:
                    s.service.publish(state_change("F", old, new))
                wait_until(lambda: bad.requests, "a delivery to the broken listener")
                received = stream.collect(len(LIFECYCLE), timeout=DEADLINE)
                if answer is None:  # its first attempt still hangs: the good ones did not wait for it
                    assert s.service.worker("bad-dest").counters.failed_attempts == 0
                bad.close()  # the hanging attempt fails now, and any retry is refused
            assert states(received) == LIFECYCLE
            # The broken one was tried, failed, and its indications were
            # given up after the retry window.
            assert s.service.flush(DEADLINE)
            counters = s.service.worker("bad-dest").counters
            assert counters.delivered == 0 and counters.given_up == len(LIFECYCLE)
    finally:
        bad.close()
