"""CIM objects exercising every value form the wire must carry."""

from __future__ import annotations

from pywbem import (
    CIMClass,
    CIMDateTime,
    CIMInstance,
    CIMInstanceName,
    CIMMethod,
    CIMParameter,
    CIMProperty,
    CIMQualifier,
    CIMQualifierDeclaration,
    Char16,
    Real32,
    Real64,
    Sint8,
    Sint64,
    Uint8,
    Uint16,
    Uint32,
    Uint64,
)

NS = "root/cimv2"

SYSTEM_PATH = CIMInstanceName("CIM_ComputerSystem", {"CreationClassName": "CIM_ComputerSystem", "Name": "h1"})

PATH = CIMInstanceName(
    "CIM_Foo",
    {
        "Name": 'a "quoted" <name> & more',
        "Id": Uint32(7),
        "Flag": True,
        "Small": Sint8(-3),
        "When": CIMDateTime("20240102030405.123456+060"),
        "System": CIMInstanceName("CIM_ComputerSystem", {"Name": "h1"}, namespace=NS),
    },
)

OTHER_PATH = CIMInstanceName("CIM_Bar", {"InstanceID": "bar:1"}, namespace="root/interop", host="elsewhere")

EMBEDDED = CIMInstance(
    "Msvm_ResourceAllocationSettingData",
    properties={
        "InstanceID": "Microsoft:1\\2",
        "ResourceType": Uint16(17),
        "HostResource": ["/dev/sda", "C:\\disk <1>.vhdx"],
    },
)


def full_instance(path: CIMInstanceName | None = None) -> CIMInstance:
    """An instance with a property of every type and form."""
    properties = [
        CIMProperty("Name", "a & b < c > d \"e\" 'f'\ttab\nline"),
        CIMProperty("Empty", ""),
        CIMProperty("NullString", None, type="string"),
        CIMProperty("NullArray", None, type="uint16", is_array=True),
        CIMProperty("U8", Uint8(255)),
        CIMProperty("U16", Uint16(65535)),
        CIMProperty("U32", Uint32(4294967295)),
        CIMProperty("U64", Uint64(18446744073709551615)),
        CIMProperty("S64", Sint64(-9223372036854775808)),
        CIMProperty("R32", Real32(1.5)),
        CIMProperty("R64", Real64(-2.25e-300)),
        CIMProperty("Flag", False),
        CIMProperty("C", Char16("x")),
        CIMProperty("When", CIMDateTime("20240102030405.123456+060")),
        CIMProperty("Interval", CIMDateTime("00000001020304.500000:000")),
        CIMProperty("Codes", [Uint16(1), Uint16(2), Uint16(3)]),
        CIMProperty("Names", ["x", "", "y & z"]),
        CIMProperty("NoNames", [], type="string"),
        CIMProperty("Dates", [CIMDateTime("20240102030405.123456+060")]),
        CIMProperty("Ref", OTHER_PATH, reference_class="CIM_Bar"),
        CIMProperty("LocalRef", SYSTEM_PATH.copy()),
        CIMProperty("NullRef", None, type="reference"),
        CIMProperty("Settings", EMBEDDED, embedded_object="instance"),
        CIMProperty("SettingsList", [EMBEDDED, EMBEDDED], embedded_object="instance"),
        CIMProperty(
            "Origin",
            "with origin",
            class_origin="CIM_Base",
            propagated=True,
            qualifiers=[CIMQualifier("Description", "a qualified property", propagated=True)],
        ),
    ]
    instance = CIMInstance("CIM_Foo", properties=properties)
    instance.path = path  # assigned afterwards so pywbem does not copy key values into it
    return instance


QUALIFIER_DECLARATIONS = [
    CIMQualifierDeclaration(
        "Description", "string", scopes={"ANY": True}, overridable=True, tosubclass=True, translatable=True
    ),
    CIMQualifierDeclaration("Key", "boolean", value=False, scopes={"PROPERTY": True, "REFERENCE": True},
                            overridable=False, tosubclass=True),
    CIMQualifierDeclaration("ValueMap", "string", is_array=True, scopes={"PROPERTY": True, "METHOD": True,
                                                                        "PARAMETER": True}),
    CIMQualifierDeclaration("MaxLen", "uint32", value=Uint32(256), scopes={"PROPERTY": True}),
]


def full_class() -> CIMClass:
    """A class with qualifiers, every property kind and a method using
    every parameter kind."""
    return CIMClass(
        "CIM_Foo",
        superclass="CIM_Base",
        qualifiers=[
            CIMQualifier("Description", "The foo & its <friends>", overridable=True, tosubclass=True,
                         translatable=True),
            CIMQualifier("Version", "2.1.0"),
        ],
        properties=[
            CIMProperty("Name", None, type="string", qualifiers=[CIMQualifier("Key", True, overridable=False)]),
            CIMProperty(
                "State",
                Uint16(2),
                qualifiers=[
                    CIMQualifier("ValueMap", ["2", "3", ".."]),
                    CIMQualifier("Values", ["Enabled", "Disabled", "Reserved"]),
                ],
            ),
            CIMProperty("Codes", None, type="uint8", is_array=True, array_size=4),
            CIMProperty("Owner", None, type="reference", reference_class="CIM_ComputerSystem",
                        class_origin="CIM_Foo", propagated=False),
            CIMProperty("Data", None, type="string", qualifiers=[CIMQualifier("EmbeddedInstance", "CIM_Bar")]),
        ],
        methods=[
            CIMMethod(
                "RequestStateChange",
                return_type="uint32",
                qualifiers=[CIMQualifier("ValueMap", ["0", "4096"])],
                parameters=[
                    CIMParameter("RequestedState", "uint16", qualifiers=[CIMQualifier("In", True)]),
                    CIMParameter("Job", "reference", reference_class="CIM_ConcreteJob",
                                 qualifiers=[CIMQualifier("Out", True)]),
                    CIMParameter("Names", "string", is_array=True),
                    CIMParameter("Sized", "uint8", is_array=True, array_size=2),
                    CIMParameter("Targets", "reference", is_array=True, reference_class="CIM_Foo"),
                ],
            ),
            CIMMethod("Reset", return_type="uint32", class_origin="CIM_Base", propagated=True),
        ],
    )
