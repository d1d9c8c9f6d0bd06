"""The listener transport over raw loopback servers that answer as
listeners do (HTTP/1.0 and close, HTTP/1.1 keep-alive, errors, garbage),
and routing's projection: `SELECT *` delivers the raised indication's own
properties, a select list only what it names."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from pywbem import CIMInstance, CIMInstanceName, Uint16

from cimprovider.indications.records import FilterRecord, SubscriptionRecord
from cimprovider.indications.routing import build_routes, match
from cimprovider.indications.source import ChangeKind, InstanceChange
from cimprovider.indications.transport import (
    DeliveryFailed,
    IndicationRejected,
    ListenerAddress,
    release,
    send_export,
)
from tests.support.waiting import DEADLINE

OK_BODY = (b'<?xml version="1.0" encoding="utf-8" ?>\n<CIM CIMVERSION="2.0" DTDVERSION="2.0">'
           b'<MESSAGE ID="1" PROTOCOLVERSION="1.0"><SIMPLEEXPRSP><EXPMETHODRESPONSE NAME="ExportIndication"/>'
           b'</SIMPLEEXPRSP></MESSAGE></CIM>')
ERROR_BODY = OK_BODY.replace(b'NAME="ExportIndication"/>',
                             b'NAME="ExportIndication"><ERROR CODE="4" DESCRIPTION="bad"/></EXPMETHODRESPONSE>')

Answer = Callable[[bytes], bytes]


def http10(body: bytes, status: str = "200 OK") -> Answer:
    return lambda _req: (f"HTTP/1.0 {status}\r\nContent-Type: text/xml\r\nContent-Length: {len(body)}\r\n"
                         f"CIMExport: MethodResponse\r\n\r\n").encode() + body


def read_request(conn: socket.socket) -> bytes | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length"))
    while len(body) < length:
        body += conn.recv(65536)
    return data


@contextmanager
def listener(answer: Answer, keep_alive: bool = False) -> Iterator[tuple[ListenerAddress, list[bytes], list[int]]]:
    """A listener on loopback; yields its address, the requests it read and
    how many connections it accepted."""
    server = socket.create_server(("127.0.0.1", 0))
    requests: list[bytes] = []
    connections = [0]
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            connections[0] += 1
            with conn:
                while (request := read_request(conn)) is not None:
                    requests.append(request)
                    conn.sendall(answer(request))
                    if not keep_alive:
                        break

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    address = ListenerAddress.parse(f"http://127.0.0.1:{server.getsockname()[1]}/cimlistener")
    try:
        yield address, requests, connections
    finally:
        release(address)
        stop.set()
        thread.join(2)
        server.close()


def test_one_connection_per_delivery_to_an_http10_listener() -> None:
    with listener(http10(OK_BODY)) as (address, requests, connections):
        for n in range(3):
            send_export(address, f"<body{n}/>".encode(), timeout=DEADLINE)
    assert connections[0] == 3 and len(requests) == 3
    head, _, body = requests[0].partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0] == "POST /cimlistener HTTP/1.1" and body == b"<body0/>"
    headers = dict(line.split(": ", 1) for line in lines[1:])
    assert headers["Content-Length"] == "8" and headers["Accept"] == "application/xml"
    assert headers["CIMExport"] == "MethodRequest" and headers["CIMExportMethod"] == "ExportIndication"
    assert "Transfer-Encoding" not in headers


def test_a_listener_that_keeps_connections_gets_one() -> None:
    answer = lambda _req: (b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: "
                           + str(len(OK_BODY)).encode() + b"\r\n\r\n" + OK_BODY)
    with listener(answer, keep_alive=True) as (address, requests, connections):
        for n in range(5):
            send_export(address, b"<x/>", timeout=DEADLINE)
    assert len(requests) == 5 and connections[0] == 1


def test_a_kept_connection_the_listener_closed_is_replaced() -> None:
    # Says it keeps the connection, then closes it after each answer.
    answer = lambda _req: (b"HTTP/1.1 200 OK\r\nContent-Length: " + str(len(OK_BODY)).encode() + b"\r\n\r\n" + OK_BODY)
    with listener(answer, keep_alive=False) as (address, requests, connections):
        for _ in range(3):
            send_export(address, b"<x/>", timeout=DEADLINE)
    assert len(requests) == 3 and connections[0] == 3


def test_an_error_answer_is_a_refusal_not_a_failure() -> None:
    with listener(http10(ERROR_BODY)) as (address, _, _):
        with pytest.raises(IndicationRejected) as raised:
            send_export(address, b"<x/>", timeout=DEADLINE)
    assert raised.value.error.status_code == 4


@pytest.mark.parametrize("answer", [
    http10(b"", status="406 Not Acceptable"),
    http10(b"<not-cim/>"),
    lambda _req: b"garbage without a status line\r\n\r\n",
    lambda _req: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
])
def test_unusable_answers_are_worth_a_retry(answer: Answer) -> None:
    with listener(answer) as (address, _, _):
        with pytest.raises(DeliveryFailed):
            send_export(address, b"<x/>", timeout=DEADLINE)


def test_an_answer_without_length_ends_with_the_connection() -> None:
    answer = lambda _req: b"HTTP/1.0 200 OK\r\nContent-Type: text/xml\r\n\r\n" + OK_BODY
    with listener(answer) as (address, requests, _):
        send_export(address, b"<x/>", timeout=DEADLINE)
    assert len(requests) == 1


def test_nobody_listening_is_a_failure() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(DeliveryFailed):
        send_export(ListenerAddress.parse(f"http://127.0.0.1:{port}"), b"<x/>", timeout=DEADLINE)


class Context:
    def is_subclass(self, classname: str, superclass: str) -> bool:
        return classname.lower() == superclass.lower()


def _routes(query: str):
    record = FilterRecord("f", {"Name": ("string", "f", False), "Query": ("string", query, False),
                                "QueryLanguage": ("string", "DMTF:CQL", False)})
    return build_routes([record], [SubscriptionRecord("f", "d", {})])


def _change() -> CIMInstance:
    keys = {"CreationClassName": "Msvm_ComputerSystem", "Name": "a"}
    path = CIMInstanceName("Msvm_ComputerSystem", keys, namespace="root/virtualization/v2")
    now = CIMInstance("Msvm_ComputerSystem", {**keys, "EnabledState": Uint16(2)}, path=path)
    before = CIMInstance("Msvm_ComputerSystem", {**keys, "EnabledState": Uint16(3)}, path=path)
    return InstanceChange(ChangeKind.MODIFIED, "root/virtualization/v2", now, before).indication()


def test_select_star_delivers_the_raised_properties_without_a_copy() -> None:
    indication = _change()
    [found] = match(_routes("SELECT * FROM CIM_InstModification WHERE SourceInstance.EnabledState = 2"),
                    "root/virtualization/v2", indication, Context())
    assert found.projected is indication


def test_a_select_list_still_projects() -> None:
    indication = _change()
    [found] = match(_routes("SELECT SourceInstance FROM CIM_InstModification"), "root/virtualization/v2",
                    indication, Context())
    assert found.projected is not indication
    assert list(found.projected.properties) == ["SourceInstance"]
    assert "PreviousInstance" in indication.properties


def test_method_call_filters_are_accepted() -> None:
    assert len(_routes("SELECT * FROM CIM_InstMethodCall WHERE MethodName = 'DefineSystem'")) == 1


@pytest.mark.parametrize("filter_name, context", [("plain", "ctx:1"), ("a&b<c>\"'", "x]]>y")])
def test_bodies_from_one_encoding_equal_encoding_each_copy(filter_name: str, context: str) -> None:
    from cimprovider.indications.bodies import ExportBodies
    from cimprovider.indications.source import IndicationStamp, delivered_copy
    from cimprovider.wire import write_export_request

    indication = IndicationStamp("host").stamp("root/virtualization/v2", _change())
    bodies = ExportBodies()
    for number in (0, 7, 123456789):
        shared = bodies.body(indication, indication, filter_name, context, number, f"s.{number}")
        alone = write_export_request(f"s.{number}", delivered_copy(indication, indication, filter_name, context, number))
        assert shared == alone


def test_may_select_follows_the_classes_filters_name(tmp_path) -> None:
    from cimprovider.indications import IndicationService
    from cimprovider.indications.records import DESTINATION_CLASS, DestinationRecord
    from cimprovider.repository import ClassRepository

    service = IndicationService(ClassRepository.load(cache_dir=tmp_path / "cache"), "host", tmp_path)
    try:
        v2 = "root/virtualization/v2"
        assert not service.may_select(v2, "Msvm_ComputerSystem")  # nobody subscribed
        text = lambda name, **more: {"Name": ("string", name, False), **{k: ("string", v, False) for k, v in more.items()}}
        service.put_destination(DestinationRecord("d", text("d", Destination="http://127.0.0.1:1", CreationClassName=DESTINATION_CLASS)))
        service.put_filter(FilterRecord("cs", text("cs", QueryLanguage="DMTF:CQL",
                                                   Query="SELECT * FROM CIM_InstModification WHERE SourceInstance ISA CIM_ComputerSystem")))
        service.put_subscription(SubscriptionRecord("cs", "d", {}))
        assert service.may_select(v2, "Msvm_ComputerSystem")
        assert not service.may_select(v2, "Msvm_ConcreteJob")
        service.put_filter(FilterRecord("any", text("any", QueryLanguage="WQL",
                                                    Query="SELECT * FROM __InstanceCreationEvent")))
        service.put_subscription(SubscriptionRecord("any", "d", {}))
        assert service.may_select(v2, "Msvm_ConcreteJob")  # a filter that names no class
    finally:
        service.close()
