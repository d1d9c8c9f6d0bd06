"""Differential: a request recognised without a parser
(wire/common_requests.py) or parsed in one call (safexml._parse_small)
reads exactly as the chunked, counting walk reads it, and a body any
path refuses is refused with the same answer, word for word.

Every body goes through parse_request twice: with the default limits
(a small body is recognised, or else parsed in one call) and with
small_document_bytes=0 (every body takes the walk, as before the two
shorter paths existed)."""

from __future__ import annotations

from typing import Any

import pytest
from lxml import etree
from pywbem import CIMInstanceName, Uint16
from test_wire_requests_pywbem import CASES
from wire_support import WireLoop

from cimprovider.wire import CallError, ParseLimits, ProtocolError, parse_request, safexml

WALKED = ParseLimits(small_document_bytes=0)
HEAD = '<?xml version="1.0" encoding="utf-8" ?>\n'
NS = '<LOCALNAMESPACEPATH><NAMESPACE NAME="root"/><NAMESPACE NAME="virtualization"/><NAMESPACE NAME="v2"/></LOCALNAMESPACEPATH>'


def envelope(call: str, head: str = HEAD) -> bytes:
    return (
        f'{head}<CIM CIMVERSION="2.0" DTDVERSION="2.0"><MESSAGE ID="1001" PROTOCOLVERSION="1.0">'
        f"<SIMPLEREQ>{call}</SIMPLEREQ></MESSAGE></CIM>"
    ).encode()


def iparam(name: str, content: str) -> str:
    return f'<IPARAMVALUE NAME="{name}">{content}</IPARAMVALUE>'


PULL = envelope(
    f'<IMETHODCALL NAME="PullInstancesWithPath">{NS}'
    + iparam("EnumerationContext", "<VALUE>7f3c2a9e-ctx</VALUE>")
    + iparam("MaxObjectCount", "<VALUE>100</VALUE>")
    + "</IMETHODCALL>"
)
GET = envelope(
    f'<IMETHODCALL NAME="GetInstance">{NS}'
    + iparam(
        "InstanceName",
        '<INSTANCENAME CLASSNAME="Msvm_ComputerSystem">'
        '<KEYBINDING NAME="CreationClassName"><KEYVALUE VALUETYPE="string">Msvm_ComputerSystem</KEYVALUE></KEYBINDING>'
        '<KEYBINDING NAME="Name"><KEYVALUE VALUETYPE="string">a &amp; b &#233;</KEYVALUE></KEYBINDING>'
        "</INSTANCENAME>",
    )
    + iparam("PropertyList", "<VALUE.ARRAY><VALUE>Name</VALUE><VALUE>EnabledState</VALUE></VALUE.ARRAY>")
    + "</IMETHODCALL>"
)


def outcome(body: bytes, limits: ParseLimits | None = None) -> tuple[Any, ...]:
    """What a client would be told: the request, or the error's every field."""
    try:
        request = parse_request(body) if limits is None else parse_request(body, limits)
    except ProtocolError as error:
        return ("protocol", error.status, error.cim_error, error.message)
    except CallError as error:
        cim = error.error
        return ("call", error.message_id, error.method, error.intrinsic, cim.status_code, cim.status_description)
    return ("request", request)


def assert_same(body: bytes, limits: ParseLimits | None = None) -> None:
    if limits is None:
        assert outcome(body) == outcome(body, WALKED), body
    else:
        walked = ParseLimits(limits.max_depth, limits.max_elements, small_document_bytes=0)
        assert outcome(body, limits) == outcome(body, walked), body


def path_taken(body: bytes) -> str:
    """Which way parse_request read `body`: recognised, small or walked."""
    counts = safexml.counts
    before = (counts.recognised, counts.small, counts.walked)
    outcome(body)
    after = (counts.recognised, counts.small, counts.walked)
    (taken,) = [name for name, b, a in zip(("recognised", "small", "walked"), before, after) if a > b]
    return taken


def took_small_path(body: bytes) -> bool:
    return path_taken(body) == "small"


def nesting(levels: int, inner: str = "x") -> bytes:
    return envelope(f'<IMETHODCALL NAME="GetClass">{NS}' + iparam("PropertyList", "<VALUE.ARRAY>" * levels + inner
                    + "</VALUE.ARRAY>" * levels) + "</IMETHODCALL>")


def test_the_common_requests_take_a_short_path_and_read_the_same() -> None:
    assert path_taken(PULL) == "recognised"
    assert path_taken(GET) == "small"  # an INSTANCENAME is left to the parser
    for body in (PULL, GET):
        assert_same(body)
        small, walked = safexml.parse_document(body), safexml.parse_document(body, WALKED)
        assert etree.tostring(small) == etree.tostring(walked)


@pytest.mark.parametrize(("method", "operation", "params"), CASES, ids=[f"{i}-{c[0]}" for i, c in enumerate(CASES)])
def test_what_pywbem_sends_reads_the_same_either_way(loop: WireLoop, method: str, operation: Any, params: dict) -> None:
    loop.capture(operation)
    assert_same(loop.bodies[-1])


def test_every_intrinsic_pywbem_sends_in_the_pull_family_takes_a_short_path(loop: WireLoop) -> None:
    pull_family = {"OpenEnumerateInstances", "PullInstancesWithPath", "PullInstances", "PullInstancePaths",
                   "CloseEnumeration", "EnumerationCount", "GetInstance", "EnumerateInstances",
                   "OpenEnumerateInstancePaths"}
    for method, operation, _ in CASES:
        if method in pull_family:
            loop.capture(operation)
            assert path_taken(loop.bodies[-1]) in ("recognised", "small"), method


CONTEXT = ("7f3c2a9e0b1d", "root/virtualization/v2")
VM = CIMInstanceName("Msvm_ComputerSystem", {"CreationClassName": "Msvm_ComputerSystem",
                                             "Name": "5F3A0C1E-77D2-4F6B-9B7C-0A1B2C3D4E5F"}, namespace=CONTEXT[1])
PYWBEM_PULLS = {
    "open": lambda c: c.OpenEnumerateInstances("Msvm_ComputerSystem", namespace=CONTEXT[1], MaxObjectCount=100),
    "open with options": lambda c: c.OpenEnumerateInstances(
        "CIM_ResourceAllocationSettingData", namespace=CONTEXT[1], DeepInheritance=True, IncludeClassOrigin=False,
        PropertyList=["InstanceID", "ResourceType"], OperationTimeout=30, ContinueOnError=False, MaxObjectCount=5),
    "open paths": lambda c: c.OpenEnumerateInstancePaths("Msvm_ComputerSystem", namespace=CONTEXT[1], MaxObjectCount=1),
    "pull with path": lambda c: c.PullInstancesWithPath(CONTEXT, 100),
    "pull paths": lambda c: c.PullInstancePaths(CONTEXT, 0),
    "pull": lambda c: c.PullInstances(CONTEXT, 7),
    "close": lambda c: c.CloseEnumeration(CONTEXT),
    "count": lambda c: c._imethodcall("EnumerationCount", CONTEXT[1], EnumerationContext=CONTEXT[0]),
    "get": lambda c: c.GetInstance(VM.copy(), PropertyList=["Name", "EnabledState"]),
    "get with options": lambda c: c.GetInstance(VM.copy(), LocalOnly=False, IncludeQualifiers=False,
                                                IncludeClassOrigin=True),
    "get with typed keys": lambda c: c.GetInstance(CIMInstanceName(
        "Msvm_Key", {"Id": Uint16(7), "On": True, "Where": "C:\\VMs\\a b/{x}=1,#@+-"}, namespace=CONTEXT[1])),
}


@pytest.mark.parametrize("operation", list(PYWBEM_PULLS.values()), ids=list(PYWBEM_PULLS))
def test_a_pull_enumeration_and_get_instance_as_pywbem_sends_them_are_recognised(loop: WireLoop, operation: Any) -> None:
    loop.capture(operation)
    body = loop.bodies[-1]
    assert path_taken(body) == "recognised"
    assert_same(body)
    assert_same(HEAD.encode() + body)


def _pull(*params: str, method: str = "PullInstancesWithPath", ns: str = NS) -> bytes:
    return envelope(f'<IMETHODCALL NAME="{method}">{ns}' + "".join(params) + "</IMETHODCALL>")


def _get(key: str) -> bytes:
    name = f'<INSTANCENAME CLASSNAME="C"><KEYBINDING NAME="Name">{key}</KEYBINDING></INSTANCENAME>'
    return envelope(f'<IMETHODCALL NAME="GetInstance">{NS}' + iparam("InstanceName", name) + "</IMETHODCALL>")


CONTEXT_PARAM = iparam("EnumerationContext", "<VALUE>c1</VALUE>")
NEAR_MISSES = {
    "count out of range": _pull(CONTEXT_PARAM, iparam("MaxObjectCount", "<VALUE>4294967296</VALUE>")),
    "count at the top of its range": _pull(CONTEXT_PARAM, iparam("MaxObjectCount", "<VALUE>4294967295</VALUE>")),
    "negative count": _pull(CONTEXT_PARAM, iparam("MaxObjectCount", "<VALUE>-1</VALUE>")),
    "signed count": _pull(CONTEXT_PARAM, iparam("MaxObjectCount", "<VALUE>+5</VALUE>")),
    "empty count": _pull(CONTEXT_PARAM, iparam("MaxObjectCount", "<VALUE></VALUE>")),
    "count as a class name": _pull(CONTEXT_PARAM, iparam("MaxObjectCount", '<CLASSNAME NAME="C"/>')),
    "count missing": _pull(CONTEXT_PARAM),
    "count given twice": _pull(CONTEXT_PARAM, iparam("MaxObjectCount", "<VALUE>1</VALUE>"),
                               iparam("maxobjectcount", "<VALUE>2</VALUE>")),
    "names in other case": _pull(iparam("enumerationcontext", "<VALUE>c1</VALUE>"),
                                 iparam("MAXOBJECTCOUNT", "<VALUE>1</VALUE>"), method="pullinstanceswithpath"),
    "empty context": _pull(iparam("EnumerationContext", "<VALUE></VALUE>"), iparam("MaxObjectCount", "<VALUE>1</VALUE>")),
    "unknown parameter": _pull(CONTEXT_PARAM, iparam("MaxObjectCount", "<VALUE>1</VALUE>"),
                               iparam("Bogus", "<VALUE>1</VALUE>")),
    "unknown method": _pull(CONTEXT_PARAM, method="FrobnicateInstances"),
    "context with spaces": _pull(iparam("EnumerationContext", "<VALUE> c1 </VALUE>"),
                                 iparam("MaxObjectCount", "<VALUE>1</VALUE>")),
    "boolean that is not": envelope(f'<IMETHODCALL NAME="OpenEnumerateInstances">{NS}'
                                    + iparam("ClassName", '<CLASSNAME NAME="C"/>')
                                    + iparam("DeepInheritance", "<VALUE>maybe</VALUE>") + "</IMETHODCALL>"),
    "booleans in any case": envelope(f'<IMETHODCALL NAME="OpenEnumerateInstances">{NS}'
                                     + iparam("ClassName", '<CLASSNAME NAME="C"/>')
                                     + iparam("DeepInheritance", "<VALUE>tRuE</VALUE>")
                                     + iparam("ContinueOnError", "<VALUE>false</VALUE>") + "</IMETHODCALL>"),
    "class name as a value": envelope(f'<IMETHODCALL NAME="OpenEnumerateInstances">{NS}'
                                      + iparam("ClassName", "<VALUE>C</VALUE>") + "</IMETHODCALL>"),
    "property list of one value": envelope(f'<IMETHODCALL NAME="OpenEnumerateInstances">{NS}'
                                           + iparam("ClassName", '<CLASSNAME NAME="C"/>')
                                           + iparam("PropertyList", "<VALUE>Name</VALUE>") + "</IMETHODCALL>"),
    "empty property list": envelope(f'<IMETHODCALL NAME="OpenEnumerateInstances">{NS}'
                                    + iparam("ClassName", '<CLASSNAME NAME="C"/>')
                                    + iparam("PropertyList", "<VALUE.ARRAY></VALUE.ARRAY>") + "</IMETHODCALL>"),
    "property list with a null": envelope(f'<IMETHODCALL NAME="OpenEnumerateInstances">{NS}'
                                          + iparam("ClassName", '<CLASSNAME NAME="C"/>')
                                          + iparam("PropertyList", "<VALUE.ARRAY><VALUE>a</VALUE><VALUE.NULL/>"
                                                   "</VALUE.ARRAY>") + "</IMETHODCALL>"),
    "one namespace": _pull(CONTEXT_PARAM, iparam("MaxObjectCount", "<VALUE>1</VALUE>"),
                           ns='<LOCALNAMESPACEPATH><NAMESPACE NAME="interop"/></LOCALNAMESPACEPATH>'),
    "no namespace": _pull(CONTEXT_PARAM, iparam("MaxObjectCount", "<VALUE>1</VALUE>"),
                          ns="<LOCALNAMESPACEPATH></LOCALNAMESPACEPATH>"),
    "namespace with a slash": _pull(CONTEXT_PARAM, iparam("MaxObjectCount", "<VALUE>1</VALUE>"),
                                    ns='<LOCALNAMESPACEPATH><NAMESPACE NAME="root/"/></LOCALNAMESPACEPATH>'),
    "a newline after the end": PULL + b"\n",
    "two newlines after the end": PULL + b"\n\n",
    "a correlator": PULL.replace(b"<SIMPLEREQ>", b'<SIMPLEREQ><CORRELATOR NAME="c" TYPE="string"><VALUE>1</VALUE>'
                                 b"</CORRELATOR>"),
    "cim version 2.1": PULL.replace(b'CIMVERSION="2.0"', b'CIMVERSION="2.1"'),
    "key of a boolean that is not": _get('<KEYVALUE VALUETYPE="boolean">maybe</KEYVALUE>'),
    "key of a number that is not": _get('<KEYVALUE VALUETYPE="numeric">12a</KEYVALUE>'),
    "key of an unknown value type": _get('<KEYVALUE VALUETYPE="date">1</KEYVALUE>'),
    "key of an unknown type": _get('<KEYVALUE TYPE="uint7">1</KEYVALUE>'),
    "key out of its type's range": _get('<KEYVALUE VALUETYPE="numeric" TYPE="uint8">256</KEYVALUE>'),
    "key as a real": _get('<KEYVALUE VALUETYPE="numeric">1.5</KEYVALUE>'),
    "key without value type": _get("<KEYVALUE>plain</KEYVALUE>"),
    "key with an empty type": _get('<KEYVALUE VALUETYPE="string" TYPE="">x</KEYVALUE>'),
    "empty key": _get('<KEYVALUE VALUETYPE="string"></KEYVALUE>'),
    "key with spaces around": _get('<KEYVALUE VALUETYPE="string">  a b  </KEYVALUE>'),
    "key named twice": _get('<KEYVALUE>a</KEYVALUE></KEYBINDING><KEYBINDING NAME="Name"><KEYVALUE>b</KEYVALUE>'),
    "key named twice in other case": _get('<KEYVALUE>a</KEYVALUE></KEYBINDING><KEYBINDING NAME="name">'
                                          "<KEYVALUE>b</KEYVALUE>"),
    "key with a line feed": _get("<KEYVALUE>a\nb</KEYVALUE>"),
    "key with a carriage return": _get("<KEYVALUE>a\rb</KEYVALUE>"),
    "key with an entity": _get("<KEYVALUE>a&amp;b</KEYVALUE>"),
    "key with a bracket": _get("<KEYVALUE>a]]b</KEYVALUE>"),
    "instance name as a class name": envelope(f'<IMETHODCALL NAME="GetInstance">{NS}'
                                              + iparam("InstanceName", '<CLASSNAME NAME="C"/>') + "</IMETHODCALL>"),
    "class name as an instance name": envelope(f'<IMETHODCALL NAME="OpenEnumerateInstances">{NS}' + iparam(
        "ClassName", '<INSTANCENAME CLASSNAME="C"><KEYBINDING NAME="k"><KEYVALUE>v</KEYVALUE></KEYBINDING>'
        "</INSTANCENAME>") + "</IMETHODCALL>"),
    "associators of an instance name": envelope(f'<IMETHODCALL NAME="AssociatorNames">{NS}' + iparam(
        "ObjectName", '<INSTANCENAME CLASSNAME="C"><KEYBINDING NAME="k"><KEYVALUE>v</KEYVALUE></KEYBINDING>'
        "</INSTANCENAME>") + iparam("AssocClass", '<CLASSNAME NAME="A"/>') + "</IMETHODCALL>"),
    "empty message id": PULL.replace(b'ID="1001"', b'ID=""'),
}


@pytest.mark.parametrize("body", list(NEAR_MISSES.values()), ids=list(NEAR_MISSES))
def test_bodies_near_the_common_layout_are_answered_the_same(body: bytes) -> None:
    assert_same(body)


def test_the_recogniser_keeps_to_the_parse_limits() -> None:
    for limits in (ParseLimits(max_elements=10), ParseLimits(max_depth=6), ParseLimits(max_depth=7)):
        assert_same(PULL, limits)
        assert_same(NEAR_MISSES["property list of one value"], limits)
    assert outcome(PULL, ParseLimits(max_elements=10))[:3] == ("protocol", 400, "request-not-valid")


@pytest.mark.parametrize("body", [PULL, GET], ids=["pull", "get"])
def test_every_truncation_is_answered_the_same(body: bytes) -> None:
    for end in range(len(body)):
        assert_same(body[:end])


# Bytes that make a body malformed, change how it is read (line ends and
# tabs in attributes, entities), or try to fool the count of start tags.
TROUBLE = [b"<", b">", b"&", b'"', b"'", b"/", b"!", b"?", b"\x00", b"\x01", b"\r", b"\t", b"\xc3\xa9", b"</", b"<!", b"<?"]


@pytest.mark.parametrize("body", [PULL, GET], ids=["pull", "get"])
def test_every_single_change_is_answered_the_same(body: bytes) -> None:
    for at in range(len(body)):
        for trouble in TROUBLE:
            assert_same(body[:at] + trouble + body[at + 1 :])
            assert_same(body[:at] + trouble + body[at:])


HOSTILE = {
    # DTDs and entities, refused before any parser runs
    "doctype": PULL.replace(b"<CIM ", b'<!DOCTYPE CIM SYSTEM "http://127.0.0.1:1/cim.dtd"><CIM ', 1),
    "entity bomb": (HEAD + '<!DOCTYPE CIM [<!ENTITY a "aaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]><CIM>&b;</CIM>').encode(),
    "undefined entity": PULL.replace(b"7f3c2a9e-ctx", b"&secret;"),
    "predefined and character references": PULL.replace(b"7f3c2a9e-ctx", b"&lt;&gt;&amp;&quot;&apos;&#65;&#x42;"),
    "reference to a forbidden character": PULL.replace(b"7f3c2a9e-ctx", b"&#0;&#1;"),
    # markup that may hold a literal "<" or "</" around deep nesting
    "cdata full of end tags around deep nesting": nesting(100, "<![CDATA[" + "</" * 200 + "]]>"),
    "cdata in a value": PULL.replace(b"7f3c2a9e-ctx", b"<![CDATA[a</b>c]]>"),
    "comment full of end tags": nesting(100, "<!--" + "</a>" * 200 + "-->"),
    "comment in the call": PULL.replace(b"<IPARAMVALUE", b"<!-- a </x> comment --><IPARAMVALUE", 1),
    "processing instruction full of end tags": nesting(100, "<?pi " + "</a>" * 200 + "?>"),
    "processing instruction in the call": PULL.replace(b"<IPARAMVALUE", b"<?pi x?><IPARAMVALUE", 1),
    "second xml declaration": PULL + HEAD.encode(),
    # the bounds themselves
    "nesting at the bound": b"".join((b"<a>" * 64, b"x", b"</a>" * 64)),
    "nesting past the bound": b"".join((b"<a>" * 65, b"x", b"</a>" * 65)),
    "deep request": nesting(70),
    "deeper than libxml2 allows": nesting(300),
    "too many elements": envelope(f'<IMETHODCALL NAME="GetClass">{NS}'
                                  + iparam("PropertyList", "<VALUE.ARRAY>" + "<VALUE>p</VALUE>" * 80 + "</VALUE.ARRAY>")
                                  + "</IMETHODCALL>"),
    # declarations, encodings, white space
    "no declaration": PULL[len(HEAD):],
    "declaration in single quotes, standalone": PULL.replace(HEAD.encode(), b"<?xml version='1.0' standalone='yes'?>"),
    "version 1.1": PULL.replace(b'version="1.0"', b'version="1.1"'),
    "latin-1 declared, utf-8 sent": GET.replace(b"utf-8", b"ISO-8859-1", 1),
    "byte order mark": b"\xef\xbb\xbf" + PULL,
    "white space before the declaration": b" " + PULL,
    "line ends and tabs in attributes": PULL.replace(b'NAME="root"', b'NAME="ro\r\not\t"'),
    "carriage returns in text": PULL.replace(b"7f3c2a9e-ctx", b"a\r\nb\rc"),
    "pretty-printed": PULL.replace(b"><", b">\n  <"),
    "invalid utf-8": PULL.replace(b"7f3c2a9e", b"\xff\xfe"),
    "utf-16": PULL.decode().replace("utf-8", "utf-16").encode("utf-16"),
    # documents that are not one CIM element
    "empty": b"",
    "text only": b"not xml",
    "two roots": PULL + b"<CIM/>",
    "text after the root": PULL + b"tail",
    "duplicate attribute": PULL.replace(b'<IMETHODCALL NAME="', b'<IMETHODCALL NAME="x" NAME="', 1),
    "xml namespaces": PULL.replace(b"<CIM ", b'<CIM xmlns="urn:x" ', 1),
    "undeclared prefix": PULL.replace(b"<SIMPLEREQ>", b"<p:SIMPLEREQ>").replace(b"</SIMPLEREQ>", b"</p:SIMPLEREQ>"),
}


@pytest.mark.parametrize("body", list(HOSTILE.values()), ids=list(HOSTILE))
def test_hostile_and_odd_bodies_are_answered_the_same(body: bytes) -> None:
    assert_same(body)


def test_bodies_that_may_cross_a_bound_never_take_the_small_path() -> None:
    for name in ("cdata full of end tags around deep nesting", "comment full of end tags",
                 "processing instruction full of end tags", "nesting past the bound", "deep request"):
        assert not took_small_path(HOSTILE[name]), name
        assert outcome(HOSTILE[name])[:3] == ("protocol", 400, "request-not-valid"), name


def test_a_parser_that_failed_reads_the_next_body_afresh() -> None:
    for broken in (GET[:-5], HOSTILE["undefined entity"].replace(b"PullInstancesWithPath", b"GetClass"),
                   HOSTILE["two roots"], PULL):
        outcome(broken)
        assert took_small_path(GET)
        assert_same(GET)
