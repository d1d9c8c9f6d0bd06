"""CIM-XML on the wire: requests in, responses and export messages out.

Pure: bytes to typed messages and back, no sockets (see DESIGN.md).
"""

from cimprovider.wire.export import parse_export_response, write_export_request
from cimprovider.wire.intrinsics import INTRINSICS, Answer, Intrinsic, Kind, find_intrinsic
from cimprovider.wire.messages import (
    CallError,
    ExtrinsicCall,
    IntrinsicCall,
    IntrinsicResult,
    KeptInstance,
    KeptRun,
    MethodResult,
    ParamValue,
    ProtocolError,
    Request,
)
from cimprovider.wire.kept import KeptXml
from cimprovider.wire.parser import parse_request
from cimprovider.wire.reply import Reply
from cimprovider.wire.safexml import ParseLimits
from cimprovider.wire.writer import write_error, write_intrinsic_reply, write_intrinsic_response, write_method_response

__all__ = [
    "INTRINSICS",
    "Answer",
    "CallError",
    "ExtrinsicCall",
    "Intrinsic",
    "IntrinsicCall",
    "IntrinsicResult",
    "KeptInstance",
    "KeptRun",
    "KeptXml",
    "Kind",
    "MethodResult",
    "ParamValue",
    "ParseLimits",
    "ProtocolError",
    "Reply",
    "Request",
    "find_intrinsic",
    "parse_export_response",
    "parse_request",
    "write_error",
    "write_export_request",
    "write_intrinsic_reply",
    "write_intrinsic_response",
    "write_method_response",
]
