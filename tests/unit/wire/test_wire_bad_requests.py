"""Hostile and broken request bodies: each ends in the right ProtocolError
or CallError, and nothing is expanded, fetched or read from disk."""

from __future__ import annotations

import pytest
from lxml import etree
from pywbem import CIM_ERR_INVALID_PARAMETER, CIM_ERR_NOT_SUPPORTED

from cimprovider.wire import safexml
from cimprovider.wire import CallError, ParseLimits, ProtocolError, parse_request

HEAD = '<?xml version="1.0" encoding="utf-8" ?>\n'


def envelope(call: str, cim: str = 'CIMVERSION="2.0" DTDVERSION="2.0"', message: str = 'ID="7" PROTOCOLVERSION="1.0"',
             req: str = "SIMPLEREQ") -> bytes:
    return f"{HEAD}<CIM {cim}><MESSAGE {message}><{req}>{call}</{req}></MESSAGE></CIM>".encode()


NS = '<LOCALNAMESPACEPATH><NAMESPACE NAME="root"></NAMESPACE><NAMESPACE NAME="cimv2"></NAMESPACE></LOCALNAMESPACEPATH>'


def imethod(name: str, params: str = "") -> bytes:
    return envelope(f'<IMETHODCALL NAME="{name}">{NS}{params}</IMETHODCALL>')


def iparam(name: str, content: str) -> str:
    return f'<IPARAMVALUE NAME="{name}">{content}</IPARAMVALUE>'


def protocol_error(body: bytes, limits: ParseLimits | None = None) -> ProtocolError:
    with pytest.raises(ProtocolError) as caught:
        parse_request(body) if limits is None else parse_request(body, limits)
    return caught.value


def call_error(body: bytes) -> CallError:
    with pytest.raises(CallError) as caught:
        parse_request(body)
    return caught.value


@pytest.mark.parametrize(
    "body",
    [b"", b"not xml at all", b"{\"json\": true}", imethod("EnumerateInstances")[:-20], b"<CIM><MESSAGE></CIM>"],
    ids=["empty", "text", "json", "truncated", "mismatched"],
)
def test_not_xml_is_not_well_formed(body: bytes) -> None:
    error = protocol_error(body)
    assert (error.status, error.cim_error) == (400, "request-not-well-formed")


def test_invalid_utf8_is_not_valid() -> None:
    body = imethod("EnumerateInstances", iparam("ClassName", '<CLASSNAME NAME="C\xff"></CLASSNAME>'))
    body = body.replace("C\xff".encode(), b"C\xff\xfe")
    error = protocol_error(body)
    assert (error.status, error.cim_error) == (400, "request-not-valid")


def _xxe_body(target: str) -> bytes:
    return (
        f'{HEAD}<!DOCTYPE CIM [<!ENTITY xxe SYSTEM "{target}">]>'
        '<CIM CIMVERSION="2.0" DTDVERSION="2.0"><MESSAGE ID="1" PROTOCOLVERSION="1.0"><SIMPLEREQ>'
        f'<IMETHODCALL NAME="GetQualifier">{NS}{iparam("QualifierName", "<VALUE>&xxe;</VALUE>")}'
        "</IMETHODCALL></SIMPLEREQ></MESSAGE></CIM>"
    ).encode()


def test_external_entity_to_etc_passwd_is_refused() -> None:
    error = protocol_error(_xxe_body("file:///etc/passwd"))
    assert (error.status, error.cim_error) == (400, "request-not-valid")
    assert "root:" not in error.message


def test_parser_flags_alone_do_not_expand_external_entities(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # Below the DOCTYPE refusal, libxml2 itself must not read the file either.
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-MARKER")
    root = None
    try:
        root = safexml._walk(_xxe_body(secret.as_uri()), safexml.DEFAULT_LIMITS)
    except Exception as exc:  # refused: fine, as long as nothing leaked
        assert "TOP-SECRET-MARKER" not in str(exc)
    if root is not None:
        assert b"TOP-SECRET-MARKER" not in etree.tostring(root)


def test_billion_laughs_is_refused_quickly() -> None:
    entities = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">' for i in range(1, 10)
    )
    body = f'{HEAD}<!DOCTYPE CIM [{entities}]><CIM CIMVERSION="2.0">&lol9;</CIM>'.encode()
    error = protocol_error(body)
    assert (error.status, error.cim_error) == (400, "request-not-valid")


def test_doctype_without_entities_is_refused_too() -> None:
    body = imethod("EnumerateQualifiers").replace(b"<CIM ", b'<!DOCTYPE CIM SYSTEM "http://example/cim.dtd"><CIM ', 1)
    assert protocol_error(body).cim_error == "request-not-valid"


def test_ten_thousand_deep_nesting_is_refused_as_not_valid() -> None:
    # Well-formed XML beyond our bound: not valid for us, whatever libxml2's own bound is.
    deep = "<VALUE.ARRAY>" * 10_000 + "</VALUE.ARRAY>" * 10_000
    error = protocol_error(imethod("GetClass", iparam("PropertyList", deep)))
    assert (error.status, error.cim_error) == (400, "request-not-valid")
    assert error.message == "elements nested deeper than 64 levels"


@pytest.mark.parametrize("levels", [65, 255, 256, 257, 2_000])
def test_nesting_past_the_bound_is_refused_at_any_depth(levels: int) -> None:
    body = ("<a>" * levels + "</a>" * levels).encode()
    with pytest.raises(ProtocolError) as refused:
        safexml.parse_document(body)
    assert (refused.value.cim_error, refused.value.message) == ("request-not-valid", "elements nested deeper than 64 levels")


def test_nesting_at_the_bound_is_accepted() -> None:
    root = safexml.parse_document(("<a>" * 64 + "x" + "</a>" * 64).encode())
    assert len(list(root.iter("a"))) == 64


def test_libxml2_refusing_depth_itself_is_answered_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    # As if libxml2's bound were lower than the one the chunk size is planned
    # for: its own error fires first, and the client still hears not-valid.
    monkeypatch.setattr(safexml, "_LIBXML2_MAX_DEPTH", 100_000)
    deep = "<VALUE.ARRAY>" * 10_000 + "</VALUE.ARRAY>" * 10_000
    error = protocol_error(imethod("GetClass", iparam("PropertyList", deep)))
    assert (error.status, error.cim_error) == (400, "request-not-valid")
    assert error.message == "elements nested deeper than the XML parser allows"


def test_a_depth_bound_the_reader_cannot_enforce_is_refused() -> None:
    with pytest.raises(ValueError, match="max_depth 300"):
        ParseLimits(max_depth=300)


def test_element_count_is_bounded() -> None:
    many = "<VALUE.ARRAY>" + "<VALUE>p</VALUE>" * 500 + "</VALUE.ARRAY>"
    body = imethod("GetClass", iparam("ClassName", '<CLASSNAME NAME="C"></CLASSNAME>') + iparam("PropertyList", many))
    error = protocol_error(body, ParseLimits(max_elements=100))
    assert (error.status, error.cim_error) == (400, "request-not-valid")
    assert parse_request(body).params["PropertyList"] == ["p"] * 500


@pytest.mark.parametrize(
    ("body", "status", "cim_error"),
    [
        (envelope("", cim='CIMVERSION="3.0" DTDVERSION="2.0"'), 400, "unsupported-cim-version"),
        (envelope("", message='ID="1" PROTOCOLVERSION="2.0"'), 400, "unsupported-protocol-version"),
        (envelope("", cim='CIMVERSION="2.0" DTDVERSION="3.1"'), 400, "unsupported-dtd-version"),
        (envelope("", req="MULTIREQ"), 501, "multiple-requests-unsupported"),
        (envelope("", req="SIMPLERSP"), 400, "request-not-valid"),
        (f"{HEAD}<NOTCIM></NOTCIM>".encode(), 400, "request-not-valid"),
        (f'{HEAD}<CIM CIMVERSION="2.0"></CIM>'.encode(), 400, "request-not-valid"),
        (envelope("<IMETHODCALL></IMETHODCALL>"), 400, "request-not-valid"),
        (envelope('<IMETHODCALL NAME="EnumerateQualifiers"></IMETHODCALL>'), 400, "request-not-valid"),
        (envelope('<IMETHODCALL NAME="EnumerateQualifiers"><LOCALNAMESPACEPATH></LOCALNAMESPACEPATH>'
                  "</IMETHODCALL>"), 400, "request-not-valid"),
        (envelope(f'<METHODCALL NAME="M">{NS}</METHODCALL>'), 400, "request-not-valid"),
        (envelope('<METHODCALL NAME="M"><LOCALINSTANCEPATH>' + NS
                  + '<INSTANCENAME CLASSNAME="C"><KEYBINDING NAME="k"><KEYVALUE VALUETYPE="boolean">maybe'
                  "</KEYVALUE></KEYBINDING></INSTANCENAME></LOCALINSTANCEPATH></METHODCALL>"), 400,
         "request-not-valid"),
    ],
    ids=["cim-3", "protocol-2", "dtd-3", "multireq", "response", "not-cim", "no-message", "no-name", "no-namespace",
         "empty-namespace", "no-target", "bad-key"],
)
def test_envelope_faults(body: bytes, status: int, cim_error: str) -> None:
    error = protocol_error(body)
    assert (error.status, error.cim_error) == (status, cim_error)


def test_unknown_intrinsic_method_is_not_supported_and_named() -> None:
    error = call_error(imethod("FrobnicateInstances"))
    assert error.error.status_code == CIM_ERR_NOT_SUPPORTED
    assert "FrobnicateInstances" in error.error.status_description
    assert (error.message_id, error.method, error.intrinsic) == ("7", "FrobnicateInstances", True)


GOOD_NAME = '<INSTANCENAME CLASSNAME="C"><KEYBINDING NAME="k"><KEYVALUE>v</KEYVALUE></KEYBINDING></INSTANCENAME>'


@pytest.mark.parametrize(
    ("method", "params", "named"),
    [
        ("EnumerateInstances", iparam("ClassName", '<CLASSNAME NAME="C"></CLASSNAME>')
         + iparam("DeepInheritance", "<VALUE>maybe</VALUE>"), "DeepInheritance"),
        ("OpenEnumerateInstances", iparam("ClassName", '<CLASSNAME NAME="C"></CLASSNAME>')
         + iparam("MaxObjectCount", "<VALUE>-1</VALUE>"), "MaxObjectCount"),
        ("PullInstancesWithPath", iparam("EnumerationContext", "<VALUE>c</VALUE>")
         + iparam("MaxObjectCount", "<VALUE>4294967296</VALUE>"), "MaxObjectCount"),
        ("EnumerateInstances", iparam("ClassName", '<INSTANCE CLASSNAME="C"></INSTANCE>'), "ClassName"),
        ("GetInstance", iparam("InstanceName", '<CLASSNAME NAME="C"></CLASSNAME>'), "InstanceName"),
        ("GetInstance", iparam("InstanceName", GOOD_NAME) + iparam("Bogus", "<VALUE>1</VALUE>"), "Bogus"),
        ("GetInstance", iparam("InstanceName", GOOD_NAME) + iparam("instancename", GOOD_NAME), "InstanceName"),
        ("GetInstance", "", "InstanceName"),
        ("GetInstance", iparam("InstanceName", "<VALUE.NULL></VALUE.NULL>"), "InstanceName"),
        ("GetClass", iparam("ClassName", '<CLASSNAME NAME="C"></CLASSNAME>')
         + iparam("PropertyList", "<VALUE.REFERENCE>" + GOOD_NAME + "</VALUE.REFERENCE>"), "PropertyList"),
        ("ModifyInstance", iparam("ModifiedInstance", '<INSTANCE CLASSNAME="C"></INSTANCE>'), "ModifiedInstance"),
        ("CreateInstance", iparam("NewInstance", '<INSTANCE CLASSNAME="C"><PROPERTY NAME="p" TYPE="uint8">'
                                                 "<VALUE>256</VALUE></PROPERTY></INSTANCE>"), "NewInstance"),
    ],
    ids=["bool-maybe", "uint32-negative", "uint32-overflow", "instance-for-classname", "classname-for-instancename",
         "unknown-param", "duplicate-param", "missing-required", "null-required", "reference-for-list",
         "instance-for-named", "out-of-range-property"],
)
def test_wrong_parameters_are_invalid_and_named(method: str, params: str, named: str) -> None:
    error = call_error(imethod(method, params))
    assert error.error.status_code == CIM_ERR_INVALID_PARAMETER
    assert named in error.error.status_description
    assert (error.method, error.intrinsic) == (method, True)


@pytest.mark.parametrize(
    ("param", "named"),
    [
        ('<PARAMVALUE NAME="State" PARAMTYPE="uint16"><VALUE>70000</VALUE></PARAMVALUE>', "State"),
        ('<PARAMVALUE NAME="Flag" PARAMTYPE="boolean"><VALUE>yes</VALUE></PARAMVALUE>', "Flag"),
        ('<PARAMVALUE NAME="Ref" PARAMTYPE="reference"><VALUE>x</VALUE></PARAMVALUE>', "Ref"),
        ('<PARAMVALUE NAME="Num" PARAMTYPE="uint8"><VALUE.REFERENCE>' + GOOD_NAME + "</VALUE.REFERENCE>"
         "</PARAMVALUE>", "Num"),
        ('<PARAMVALUE NAME="T" PARAMTYPE="uint128"><VALUE>1</VALUE></PARAMVALUE>', "T"),
        ('<PARAMVALUE NAME="D" PARAMTYPE="datetime"><VALUE>yesterday</VALUE></PARAMVALUE>', "D"),
        ('<PARAMVALUE NAME="A"><VALUE>1</VALUE></PARAMVALUE><PARAMVALUE NAME="a"><VALUE>2</VALUE></PARAMVALUE>', "A"),
    ],
    ids=["uint16-range", "boolean", "text-for-reference", "reference-for-number", "unknown-type", "bad-datetime",
         "duplicate"],
)
def test_wrong_method_parameters_are_invalid_and_named(param: str, named: str) -> None:
    body = envelope(f'<METHODCALL NAME="Go"><LOCALCLASSPATH>{NS}<CLASSNAME NAME="C"></CLASSNAME></LOCALCLASSPATH>'
                    f"{param}</METHODCALL>")
    error = call_error(body)
    assert error.error.status_code == CIM_ERR_INVALID_PARAMETER
    assert named.lower() in error.error.status_description.lower()
    assert (error.method, error.intrinsic) == ("Go", False)
