"""Drive a real pywbem WBEMConnection against the wire codec in memory.

pywbem builds every request with its own CIM-XML writer and hands it to
`wbem_request`; replacing that one function (as imported by
pywbem._cim_operations) lets a test see the exact bytes pywbem would send
and answer with the exact bytes our writer produces, which pywbem then
parses with its own response parser.
"""

from __future__ import annotations

from typing import Any, Callable

import pytest
import pywbem
import pywbem._cim_operations as cim_operations
from pywbem._tupleparse import TupleParser
from pywbem._tupletree import xml_to_tupletree_sax

from cimprovider.wire import Request, parse_request

HOST = "wire.test"


class Captured(Exception):
    """Stops pywbem after its request has been parsed by us."""

    def __init__(self, request: Request) -> None:
        super().__init__("captured")
        self.request = request


class WireLoop:
    def __init__(self) -> None:
        self.conn = pywbem.WBEMConnection(f"http://{HOST}", ("user", "pass"), default_namespace="root/cimv2")
        self.bodies: list[bytes] = []
        self.replies: list[bytes] = []
        self.answer: Callable[[Request], bytes] | None = None

    def send(self, conn: Any, req_data: Any, cimxml_headers: Any, target_type: str = "server") -> tuple[bytes, None]:
        body = req_data.encode("utf-8") if isinstance(req_data, str) else req_data
        self.bodies.append(body)
        request = parse_request(body)
        if self.answer is None:
            raise Captured(request)
        reply = self.answer(request)
        self.replies.append(reply)
        return reply, None

    def capture(self, operation: Callable[[pywbem.WBEMConnection], Any]) -> Request:
        """The request our parser makes of what pywbem sends for `operation`."""
        self.answer = None
        with pytest.raises(Captured) as caught:
            operation(self.conn)
        return caught.value.request


def install_loop(monkeypatch: pytest.MonkeyPatch) -> WireLoop:
    wire_loop = WireLoop()
    monkeypatch.setattr(cim_operations, "wbem_request", wire_loop.send)
    return wire_loop


def through_pywbem(obj: Any) -> Any:
    """`obj` as pywbem itself reads it back from its own CIM-XML: the
    reference for "pywbem parses our bytes into equal objects", since
    pywbem's parser fills in defaults (e.g. PROPAGATED false) on the way."""
    if isinstance(obj, pywbem.CIMInstance):
        xml = obj.tocimxmlstr(ignore_path=True)
    else:
        xml = obj.tocimxmlstr()
    parsed = TupleParser().parse_any(xml_to_tupletree_sax(xml, "reference"))
    if isinstance(obj, pywbem.CIMInstance) and obj.path is not None:
        parsed.path = obj.path.copy()
    return parsed
