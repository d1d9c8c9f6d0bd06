"""ExportIndication as pywbem's WBEMListener reads it, and its answers."""

from __future__ import annotations

import pytest
from pywbem import CIM_ERR_FAILED, CIM_ERR_INVALID_PARAMETER, CIMDateTime, CIMError, CIMInstance, Uint16
from pywbem._cim_xml import CIM, ERROR, EXPMETHODRESPONSE, MESSAGE, SIMPLEEXPRSP
from pywbem._listener import ListenerRequestHandler
from samples import EMBEDDED
from test_wire_responses_pywbem import SELF_CLOSING
from wire_support import through_pywbem

from cimprovider.wire import parse_export_response, write_export_request

INDICATION = CIMInstance(
    "CIM_InstModification",
    properties={
        "IndicationTime": CIMDateTime("20240102030405.000000+000"),
        "SourceInstance": EMBEDDED,
        "PreviousInstance": EMBEDDED,
        "IndicationFilterName": "pywbemfilter:sub:f1 & <co>",
        "PerceivedSeverity": Uint16(2),
    },
)


def test_listener_reads_the_indication() -> None:
    body = write_export_request("1001", INDICATION)
    assert SELF_CLOSING.search(body) is None
    message_id, method, params = ListenerRequestHandler.parse_export_request(body)
    assert (message_id, method) == ("1001", "ExportIndication")
    assert list(params) == ["NewIndication"]
    assert params["NewIndication"] == through_pywbem(INDICATION)


def _listener_answer(*children: object) -> bytes:
    xml = CIM(MESSAGE(SIMPLEEXPRSP(EXPMETHODRESPONSE("ExportIndication", *children)), "1001", "1.0"), "2.0", "2.0")
    return ('<?xml version="1.0" encoding="utf-8" ?>\n' + xml.toxml()).encode("utf-8")


def test_success_answer_returns_none() -> None:
    assert parse_export_response(_listener_answer()) is None


def test_error_answer_raises_its_cim_error() -> None:
    with pytest.raises(CIMError) as caught:
        parse_export_response(_listener_answer(ERROR("4", "Expecting one parameter NewIndication")))
    assert caught.value.status_code == CIM_ERR_INVALID_PARAMETER
    assert "NewIndication" in caught.value.status_description


@pytest.mark.parametrize("body", [b"", b"<html>busy</html>", b"<CIM><MESSAGE>"])
def test_unusable_answer_is_a_failure(body: bytes) -> None:
    with pytest.raises(CIMError) as caught:
        parse_export_response(body)
    assert caught.value.status_code == CIM_ERR_FAILED
