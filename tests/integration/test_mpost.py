"""M-POST with the Man header's ns prefix (DSP0200 §7), over a raw socket."""

from __future__ import annotations

import http.client

from tests.support.waiting import DEADLINE

BODY = (
    '<?xml version="1.0" encoding="utf-8" ?><CIM CIMVERSION="2.0" DTDVERSION="2.0"><MESSAGE ID="7" '
    'PROTOCOLVERSION="1.0"><SIMPLEREQ><IMETHODCALL NAME="EnumerateInstanceNames"><LOCALNAMESPACEPATH>'
    '<NAMESPACE NAME="root"></NAMESPACE><NAMESPACE NAME="interop"></NAMESPACE></LOCALNAMESPACEPATH>'
    '<IPARAMVALUE NAME="ClassName"><CLASSNAME NAME="CIM_ObjectManager"></CLASSNAME></IPARAMVALUE>'
    "</IMETHODCALL></SIMPLEREQ></MESSAGE></CIM>"
).encode()


def mpost(server, headers):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=DEADLINE)
    conn.request("M-POST", "/cimom", body=BODY, headers={"Content-Type": "application/xml", **headers})
    response = conn.getresponse()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()


def test_mpost_with_prefixed_headers(server):
    status, headers, body = mpost(
        server,
        {
            "Man": "http://www.dmtf.org/cim/mapping/http/v1.0; ns=73",
            "73-CIMOperation": "MethodCall",
            "73-CIMMethod": "EnumerateInstanceNames",
            "73-CIMObject": "root%2Finterop",
        },
    )
    assert status == 200
    assert b"CIM_ObjectManager" in body


def test_mpost_without_man_header_is_refused(server):
    status, headers, _ = mpost(server, {"CIMOperation": "MethodCall", "CIMMethod": "X", "CIMObject": "root/interop"})
    assert status == 400
