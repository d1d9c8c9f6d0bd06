"""Export messages (DSP0200 §5.4): the ExportIndication request we send to
an indication listener and the listener's answer."""

from __future__ import annotations

from pywbem import CIM_ERR_FAILED, CIMError, CIMInstance

from cimprovider.wire import encode
from cimprovider.wire.messages import ProtocolError
from cimprovider.wire.safexml import parse_document
from cimprovider.wire.scalars import escape_attr

_PROLOG = '<?xml version="1.0" encoding="utf-8" ?>\n<CIM CIMVERSION="2.0" DTDVERSION="2.0">'


def write_export_request(message_id: str, indication: CIMInstance) -> bytes:
    """SIMPLEEXPREQ/EXPMETHODCALL ExportIndication with the indication as
    NewIndication (an INSTANCE without path, as listeners expect)."""
    parts = [
        f'{_PROLOG}<MESSAGE ID="{escape_attr(message_id)}" PROTOCOLVERSION="1.0"><SIMPLEEXPREQ>'
        '<EXPMETHODCALL NAME="ExportIndication"><EXPPARAMVALUE NAME="NewIndication">'
    ]
    encode.write_instance(indication, parts.append)
    parts.append("</EXPPARAMVALUE></EXPMETHODCALL></SIMPLEEXPREQ></MESSAGE></CIM>")
    return "".join(parts).encode("utf-8")


def _failed(message: str) -> CIMError:
    return CIMError(CIM_ERR_FAILED, f"the listener's export response is unusable: {message}")


def parse_export_response(body: bytes) -> None:
    """Return if the listener accepted the indication; raise CIMError with
    its code if it answered ERROR, or CIM_ERR_FAILED if the answer is not
    an export response at all."""
    try:
        root = parse_document(body)
    except ProtocolError as exc:
        raise _failed(exc.message) from None
    path = ("MESSAGE", "SIMPLEEXPRSP", "EXPMETHODRESPONSE")
    element = root
    if element.tag != "CIM":
        raise _failed(f"document element is {element.tag}")
    for tag in path:
        kids = list(element)
        if len(kids) != 1 or kids[0].tag != tag:
            raise _failed(f"{element.tag} does not hold {tag}")
        element = kids[0]
    for kid in element:
        if kid.tag == "ERROR":
            code = kid.get("CODE", "")
            if not code.strip().isdigit():
                raise _failed(f"ERROR has CODE {code!r}")
            raise CIMError(int(code), kid.get("DESCRIPTION") or f"Error code {int(code)}")
