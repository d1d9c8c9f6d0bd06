"""Requests as clients other than pywbem write them: sblim wbemcli (no
PARAMTYPE, KEYVALUE with VALUETYPE only), WMI-style embedded instances,
pretty-printed bodies, legacy attribute spellings."""

from __future__ import annotations

from pywbem import (
    CIMClassName,
    CIMInstance,
    CIMInstanceName,
    CIMProperty,
    Uint16,
)

from cimprovider.wire import ExtrinsicCall, IntrinsicCall, ParamValue, parse_request

WBEMCLI_CM = b"""<?xml version="1.0" encoding="utf-8" ?>
<CIM CIMVERSION="2.0" DTDVERSION="2.0">
  <MESSAGE ID="4711" PROTOCOLVERSION="1.0">
    <SIMPLEREQ>
      <METHODCALL NAME="RequestStateChange">
        <LOCALINSTANCEPATH>
          <LOCALNAMESPACEPATH><NAMESPACE NAME="root"/><NAMESPACE NAME="cimv2"/></LOCALNAMESPACEPATH>
          <INSTANCENAME CLASSNAME="CIM_ComputerSystem">
            <KEYBINDING NAME="CreationClassName"><KEYVALUE VALUETYPE="string">CIM_ComputerSystem</KEYVALUE></KEYBINDING>
            <KEYBINDING NAME="Name"><KEYVALUE VALUETYPE="string">capture.example.org</KEYVALUE></KEYBINDING>
            <KEYBINDING NAME="Number"><KEYVALUE VALUETYPE="numeric">42</KEYVALUE></KEYBINDING>
            <KEYBINDING NAME="Ratio"><KEYVALUE VALUETYPE="numeric">1.5</KEYVALUE></KEYBINDING>
            <KEYBINDING NAME="On"><KEYVALUE VALUETYPE="boolean">true</KEYVALUE></KEYBINDING>
            <KEYBINDING NAME="Typed"><KEYVALUE VALUETYPE="numeric" TYPE="uint16">7</KEYVALUE></KEYBINDING>
          </INSTANCENAME>
        </LOCALINSTANCEPATH>
        <PARAMVALUE NAME="RequestedState"><VALUE>3</VALUE></PARAMVALUE>
        <PARAMVALUE NAME="Note"><VALUE>hi there</VALUE></PARAMVALUE>
        <PARAMVALUE NAME="Spaces"><VALUE>  padded  </VALUE></PARAMVALUE>
        <PARAMVALUE NAME="Empty"><VALUE/></PARAMVALUE>
        <PARAMVALUE NAME="List"><VALUE.ARRAY><VALUE>1</VALUE><VALUE.NULL/><VALUE>2</VALUE></VALUE.ARRAY></PARAMVALUE>
        <PARAMVALUE NAME="Nothing"></PARAMVALUE>
        <PARAMVALUE NAME="Null"><VALUE.NULL/></PARAMVALUE>
      </METHODCALL>
    </SIMPLEREQ>
  </MESSAGE>
</CIM>
"""


def test_wbemcli_method_call_keeps_untyped_values_raw() -> None:
    request = parse_request(WBEMCLI_CM)
    assert isinstance(request, ExtrinsicCall)
    assert request.message_id == "4711"
    assert request.target == CIMInstanceName(
        "CIM_ComputerSystem",
        {"CreationClassName": "CIM_ComputerSystem", "Name": "capture.example.org", "Number": 42, "Ratio": 1.5,
         "On": True, "Typed": Uint16(7)},
        namespace="root/cimv2",
    )
    assert request.target.keybindings["Typed"].cimtype == "uint16"
    assert request.params == (
        ParamValue("RequestedState", None, "3"),
        ParamValue("Note", None, "hi there"),
        ParamValue("Spaces", None, "  padded  "),
        ParamValue("Empty", None, ""),
        ParamValue("List", None, ["1", None, "2"], is_array=True),
        ParamValue("Nothing", None, None),
        ParamValue("Null", None, None),
    )


def _call(inner: str, name: str = "M") -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8" ?><CIM CIMVERSION="2.0" DTDVERSION="2.0">'
        '<MESSAGE ID="9" PROTOCOLVERSION="1.0"><SIMPLEREQ><CORRELATOR NAME="c" TYPE="string"><VALUE>x</VALUE>'
        f'</CORRELATOR><METHODCALL NAME="{name}"><LOCALCLASSPATH><LOCALNAMESPACEPATH>'
        '<NAMESPACE NAME="root"></NAMESPACE><NAMESPACE NAME="virtualization"></NAMESPACE>'
        '<NAMESPACE NAME="v2"></NAMESPACE></LOCALNAMESPACEPATH><CLASSNAME NAME="Msvm_VirtualSystemManagementService">'
        f"</CLASSNAME></LOCALCLASSPATH>{inner}</METHODCALL></SIMPLEREQ></MESSAGE></CIM>"
    ).encode()


WMI_TEXT = (
    '<INSTANCE CLASSNAME="Msvm_VirtualSystemSettingData">'
    '<PROPERTY NAME="__PATH" CLASSORIGIN="___SYSTEM" TYPE="string"><VALUE>\\\\HOST\\root\\virtualization\\v2:'
    'Msvm_VirtualSystemSettingData.InstanceID="Microsoft:1"</VALUE></PROPERTY>'
    '<PROPERTY NAME="__CLASS" CLASSORIGIN="___SYSTEM" TYPE="string"><VALUE>Msvm_VirtualSystemSettingData</VALUE>'
    "</PROPERTY>"
    '<PROPERTY.ARRAY NAME="__DERIVATION" CLASSORIGIN="___SYSTEM" TYPE="string"><VALUE.ARRAY>'
    "<VALUE>CIM_VirtualSystemSettingData</VALUE><VALUE>CIM_SettingData</VALUE></VALUE.ARRAY></PROPERTY.ARRAY>"
    '<PROPERTY NAME="ElementName" CLASSORIGIN="CIM_ManagedElement" TYPE="string"><VALUE>vm &amp; co</VALUE>'
    "</PROPERTY>"
    '<PROPERTY NAME="VirtualNumaEnabled" PROPAGATED="true" TYPE="boolean"><VALUE>TRUE</VALUE></PROPERTY>'
    '<PROPERTY NAME="Notes" TYPE="string"></PROPERTY>'
    "</INSTANCE>"
)


def _escaped(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def test_wmi_style_embedded_instance_with_system_properties_is_parsed() -> None:
    request = parse_request(_call(
        f'<PARAMVALUE NAME="SystemSettings" PARAMTYPE="string" EmbeddedObject="instance">'
        f"<VALUE>{_escaped(WMI_TEXT)}</VALUE></PARAMVALUE>", name="DefineSystem"))
    assert isinstance(request, ExtrinsicCall)
    assert request.target == CIMClassName("Msvm_VirtualSystemManagementService", namespace="root/virtualization/v2")
    (param,) = request.params
    assert param.embedded_object == "instance"
    settings = param.value
    assert isinstance(settings, CIMInstance)
    assert settings.classname == "Msvm_VirtualSystemSettingData"
    assert settings["ElementName"] == "vm & co"
    assert settings["VirtualNumaEnabled"] is True
    assert settings["Notes"] is None
    assert settings.properties["__PATH"].class_origin == "___SYSTEM"
    assert settings["__DERIVATION"] == ["CIM_VirtualSystemSettingData", "CIM_SettingData"]


def test_legacy_uppercase_embeddedobject_and_untyped_array_of_embedded_instances() -> None:
    request = parse_request(_call(
        '<PARAMVALUE NAME="ResourceSettings" EMBEDDEDOBJECT="instance"><VALUE.ARRAY>'
        f"<VALUE>{_escaped(WMI_TEXT)}</VALUE><VALUE>{_escaped(WMI_TEXT)}</VALUE></VALUE.ARRAY></PARAMVALUE>"))
    (param,) = request.params
    assert (param.type, param.embedded_object, param.is_array) == (None, "instance", True)
    assert [p.classname for p in param.value] == ["Msvm_VirtualSystemSettingData"] * 2


def test_embedded_text_that_is_no_instance_is_kept_as_text() -> None:
    request = parse_request(_call(
        '<PARAMVALUE NAME="A" PARAMTYPE="string" EmbeddedObject="instance"><VALUE>not &lt;xml</VALUE></PARAMVALUE>'
        '<PARAMVALUE NAME="B" PARAMTYPE="string" EmbeddedObject="object"><VALUE>&lt;VALUE&gt;1&lt;/VALUE&gt;'
        "</VALUE></PARAMVALUE>"))
    assert [p.value for p in request.params] == ["not <xml", "<VALUE>1</VALUE>"]


def test_embedded_text_with_a_doctype_is_not_expanded() -> None:
    hostile = '<!DOCTYPE INSTANCE [<!ENTITY x SYSTEM "file:///etc/passwd">]><INSTANCE CLASSNAME="C"></INSTANCE>'
    request = parse_request(_call(
        f'<PARAMVALUE NAME="A" PARAMTYPE="string" EmbeddedObject="instance"><VALUE>{_escaped(hostile)}</VALUE>'
        "</PARAMVALUE>"))
    assert request.params[0].value == hostile


def test_structural_parameter_values() -> None:
    request = parse_request(_call(
        '<PARAMVALUE NAME="Cls"><CLASSNAME NAME="CIM_X"></CLASSNAME></PARAMVALUE>'
        '<PARAMVALUE NAME="Inst"><INSTANCENAME CLASSNAME="CIM_X"><KEYBINDING NAME="Id">'
        '<VALUE.REFERENCE><INSTANCENAME CLASSNAME="CIM_Y"><KEYVALUE VALUETYPE="string">only</KEYVALUE>'
        "</INSTANCENAME></VALUE.REFERENCE></KEYBINDING></INSTANCENAME></PARAMVALUE>"
        '<PARAMVALUE NAME="Obj"><INSTANCE CLASSNAME="CIM_X"><PROPERTY NAME="P" TYPE="uint16"><VALUE>5</VALUE>'
        "</PROPERTY></INSTANCE></PARAMVALUE>"
        '<PARAMVALUE NAME="Refs" PARAMTYPE="reference"><VALUE.REFARRAY><VALUE.REFERENCE>'
        '<CLASSNAME NAME="CIM_X"></CLASSNAME></VALUE.REFERENCE><VALUE.NULL></VALUE.NULL></VALUE.REFARRAY>'
        "</PARAMVALUE>"))
    inner = CIMInstanceName("CIM_Y", {None: "only"})
    assert request.params == (
        ParamValue("Cls", None, CIMClassName("CIM_X")),
        ParamValue("Inst", None, CIMInstanceName("CIM_X", {"Id": inner})),
        ParamValue("Obj", None, CIMInstance("CIM_X", properties=[CIMProperty("P", Uint16(5))])),
        ParamValue("Refs", "reference", [CIMClassName("CIM_X"), None], is_array=True),
    )


def test_intrinsic_names_are_matched_case_insensitively_and_given_canonically() -> None:
    body = (
        b'<?xml version="1.0" encoding="utf-8" ?><CIM CIMVERSION="2.0" DTDVERSION="2.0">'
        b'<MESSAGE ID="1" PROTOCOLVERSION="1.0"><SIMPLEREQ><IMETHODCALL NAME="enumerateinstances">'
        b'<LOCALNAMESPACEPATH><NAMESPACE NAME="interop"/></LOCALNAMESPACEPATH>'
        b'<IPARAMVALUE NAME="classname"><CLASSNAME NAME="CIM_Namespace"/></IPARAMVALUE>'
        b'<IPARAMVALUE NAME="DEEPINHERITANCE"><VALUE> true </VALUE></IPARAMVALUE>'
        b'<IPARAMVALUE NAME="LocalOnly"><VALUE>False</VALUE></IPARAMVALUE>'
        b'<IPARAMVALUE NAME="PropertyList"/>'
        b'<IPARAMVALUE NAME="IncludeQualifiers"><VALUE.NULL/></IPARAMVALUE>'
        b"</IMETHODCALL></SIMPLEREQ></MESSAGE></CIM>"
    )
    request = parse_request(body)
    assert request == IntrinsicCall(
        "1", "EnumerateInstances", "interop",
        {"ClassName": "CIM_Namespace", "DeepInheritance": True, "LocalOnly": False, "PropertyList": None,
         "IncludeQualifiers": None},
    )


def test_a_latin1_declaration_does_not_change_how_utf8_is_read() -> None:
    body = (
        '<?xml version="1.0" encoding="ISO-8859-1" ?><CIM CIMVERSION="2.0" DTDVERSION="2.0">'
        '<MESSAGE ID="1" PROTOCOLVERSION="1.0"><SIMPLEREQ><IMETHODCALL NAME="GetQualifier">'
        '<LOCALNAMESPACEPATH><NAMESPACE NAME="root"/></LOCALNAMESPACEPATH>'
        '<IPARAMVALUE NAME="QualifierName"><VALUE>Désignation ✓</VALUE></IPARAMVALUE>'
        "</IMETHODCALL></SIMPLEREQ></MESSAGE></CIM>"
    ).encode("utf-8")
    assert parse_request(body).params == {"QualifierName": "Désignation ✓"}
