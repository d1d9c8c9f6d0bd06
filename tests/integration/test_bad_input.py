"""Hostile and broken requests, over a real socket: each gets a clear error,
and the server keeps serving."""

from __future__ import annotations

import http.client
import socket

import psutil
import pytest

from tests.support.waiting import DEADLINE

ENVELOPE = (
    '<?xml version="1.0" encoding="utf-8" ?>'
    '<CIM CIMVERSION="2.0" DTDVERSION="2.0"><MESSAGE ID="1" PROTOCOLVERSION="1.0"><SIMPLEREQ>'
    '<IMETHODCALL NAME="{method}"><LOCALNAMESPACEPATH><NAMESPACE NAME="root"></NAMESPACE>'
    '<NAMESPACE NAME="interop"></NAMESPACE></LOCALNAMESPACEPATH>{params}</IMETHODCALL>'
    "</SIMPLEREQ></MESSAGE></CIM>"
)


def call(method: str, params: str = "") -> bytes:
    return ENVELOPE.format(method=method, params=params).encode()


def post(server, body: bytes, headers: dict[str, str] | None = None, method: str = "POST"):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=DEADLINE)
    sent = {
        "Content-Type": 'application/xml; charset="utf-8"',
        "CIMOperation": "MethodCall",
        "CIMMethod": "EnumerateInstanceNames",
        "CIMObject": "root/interop",
    }
    sent.update(headers or {})
    conn.request(method, "/cimom", body=body, headers=sent)
    response = conn.getresponse()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()


@pytest.fixture(autouse=True)
def still_serving(server, conn):
    yield
    # After every bad request, a good one still works.
    assert len(conn.EnumerateInstanceNames("CIM_ObjectManager")) == 1


def test_good_request_over_raw_http(server):
    status, headers, body = post(
        server, call("EnumerateInstanceNames", '<IPARAMVALUE NAME="ClassName"><CLASSNAME NAME="CIM_ObjectManager"></CLASSNAME></IPARAMVALUE>')
    )
    assert status == 200
    assert headers["content-type"].startswith("application/xml")
    assert headers["cimoperation"] == "MethodResponse"
    assert b"<INSTANCENAME" in body


def test_non_xml_body(server):
    status, headers, _ = post(server, b"this is not xml")
    assert (status, headers.get("cimerror")) == (400, "request-not-well-formed")


def test_truncated_xml(server):
    status, headers, _ = post(server, call("EnumerateInstanceNames")[:-40])
    assert (status, headers.get("cimerror")) == (400, "request-not-well-formed")


def test_external_entity_is_not_read(server):
    body = (
        b'<?xml version="1.0"?><!DOCTYPE CIM [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        + call("EnumerateInstanceNames", '<IPARAMVALUE NAME="ClassName"><CLASSNAME NAME="&x;"></CLASSNAME></IPARAMVALUE>')
        .split(b"?>", 1)[1]
    )
    status, headers, response = post(server, body)
    assert status == 400
    assert headers.get("cimerror") == "request-not-valid"
    assert b"root:" not in response


def test_billion_laughs_is_refused(server):
    entities = "".join(f'<!ENTITY l{i} "{"&l%d;" % (i - 1) * 10}">' for i in range(1, 10))
    body = f'<?xml version="1.0"?><!DOCTYPE CIM [<!ENTITY l0 "ha">{entities}]><CIM>&l9;</CIM>'.encode()
    status, headers, _ = post(server, body)
    assert status == 400
    assert headers.get("cimerror") == "request-not-valid"


def test_deeply_nested_xml(server):
    body = b'<?xml version="1.0"?>' + b"<CIM>" * 100_000 + b"</CIM>" * 100_000
    status, headers, _ = post(server, body)
    assert (status, headers.get("cimerror")) == (400, "request-not-valid")


def test_wrong_cimoperation_header(server):
    status, headers, _ = post(server, call("EnumerateInstanceNames"), {"CIMOperation": "MethodRequest"})
    assert (status, headers.get("cimerror")) == (400, "unsupported-operation")


def test_get_is_not_implemented(server):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=DEADLINE)
    conn.request("GET", "/cimom")
    assert conn.getresponse().status == 501


def test_unknown_intrinsic_method_is_cim_error_7(server):
    status, _, body = post(server, call("ExplodeInstances"), {"CIMMethod": "ExplodeInstances"})
    assert status == 200
    assert b'<ERROR CODE="7"' in body


def test_wrong_parameter_type_is_cim_error_4(server):
    params = (
        '<IPARAMVALUE NAME="ClassName"><CLASSNAME NAME="CIM_Namespace"></CLASSNAME></IPARAMVALUE>'
        '<IPARAMVALUE NAME="DeepInheritance"><VALUE>perhaps</VALUE></IPARAMVALUE>'
    )
    status, _, body = post(server, call("EnumerateInstances", params), {"CIMMethod": "EnumerateInstances"})
    assert status == 200
    assert b'<ERROR CODE="4"' in body
    assert b"DeepInheritance" in body


def test_hundred_megabyte_body_is_413_without_reading_it(server):
    process = psutil.Process()
    before = process.memory_info().rss
    with socket.create_connection(("127.0.0.1", server.port), timeout=DEADLINE) as sock:
        sock.sendall(
            b"POST /cimom HTTP/1.1\r\nHost: x\r\nContent-Type: application/xml\r\n"
            b"CIMOperation: MethodCall\r\nCIMMethod: EnumerateInstances\r\nCIMObject: root/interop\r\n"
            b"Content-Length: 104857600\r\n\r\n"
        )
        chunk = b"<" * 65536
        try:
            for _ in range(1600):
                sock.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            pass
        reply = sock.recv(4096)
    assert reply.startswith(b"HTTP/1.1 413")
    assert process.memory_info().rss - before < 50 * 1024 * 1024


def test_chunked_body_over_the_limit_is_413(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=DEADLINE) as sock:
        sock.sendall(
            b"POST /cimom HTTP/1.1\r\nHost: x\r\nContent-Type: application/xml\r\nTransfer-Encoding: chunked\r\n"
            b"CIMOperation: MethodCall\r\nCIMMethod: EnumerateInstances\r\nCIMObject: root/interop\r\n\r\n"
        )
        piece = b"%x\r\n%s\r\n" % (1 << 20, b"<" * (1 << 20))
        try:
            for _ in range(20):
                sock.sendall(piece)
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            pass
        reply = sock.recv(4096)
    assert reply.startswith(b"HTTP/1.1 413")


def test_client_disconnecting_mid_body(server):
    for _ in range(20):
        with socket.create_connection(("127.0.0.1", server.port), timeout=DEADLINE) as sock:
            sock.sendall(
                b"POST /cimom HTTP/1.1\r\nHost: x\r\nContent-Type: application/xml\r\n"
                b"CIMOperation: MethodCall\r\nCIMMethod: EnumerateInstances\r\nCIMObject: root/interop\r\n"
                b"Content-Length: 5000\r\n\r\n<?xml version="
            )


def test_trailers_carry_the_cim_status(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=DEADLINE) as sock:
        body = call("EnumerateInstanceNames", '<IPARAMVALUE NAME="ClassName"><CLASSNAME NAME="No_Such"></CLASSNAME></IPARAMVALUE>')
        sock.sendall(
            b"POST /cimom HTTP/1.1\r\nHost: x\r\nContent-Type: application/xml\r\nTE: trailers\r\n"
            b"CIMOperation: MethodCall\r\nCIMMethod: EnumerateInstanceNames\r\nCIMObject: root/interop\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
        )
        data = b""
        while not data.endswith(b"\r\n\r\n") or b"\r\n0\r\n" not in data:
            more = sock.recv(65536)
            if not more:
                break
            data += more
    head, _, rest = data.partition(b"\r\n\r\n")
    assert b"transfer-encoding: chunked" in head.lower()
    assert b"cimstatuscode: 5" in rest.lower()
