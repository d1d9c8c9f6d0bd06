"""What we write, a real pywbem WBEMConnection reads back into equal objects."""

from __future__ import annotations

import re
from typing import Any, Callable

import pytest
from pywbem import (
    CIM_ERR_NOT_FOUND,
    CIMClass,
    CIMClassName,
    CIMDateTime,
    CIMError,
    CIMInstance,
    CIMInstanceName,
    Real64,
    Sint64,
    Uint16,
    Uint32,
    Uint64,
)
from samples import EMBEDDED, NS, OTHER_PATH, PATH, QUALIFIER_DECLARATIONS, full_class, full_instance
from wire_support import HOST, WireLoop, through_pywbem

from cimprovider.wire import (
    IntrinsicResult,
    MethodResult,
    Request,
    write_error,
    write_intrinsic_response,
    write_method_response,
)

SELF_CLOSING = re.compile(rb"<[A-Z.]+[^>]*/>")


def check_wire_rules(reply: bytes) -> None:
    assert SELF_CLOSING.search(reply) is None, "wbemcli cannot read self-closing tags"
    for opener in re.findall(rb"<RETURNVALUE[^>]*>", reply):
        assert b"PARAMTYPE=" in opener
    assert reply.startswith(b'<?xml version="1.0" encoding="utf-8" ?>\n<CIM CIMVERSION="2.0" DTDVERSION="2.0">')


def answer_with(loop: WireLoop, result: Any) -> None:
    def answer(request: Request) -> bytes:
        if isinstance(result, MethodResult):
            return write_method_response(request, result)  # type: ignore[arg-type]
        return write_intrinsic_response(request, result, HOST)  # type: ignore[arg-type]

    loop.answer = answer


def run(loop: WireLoop, result: Any, operation: Callable[[Any], Any]) -> Any:
    answer_with(loop, result)
    value = operation(loop.conn)
    check_wire_rules(loop.replies[-1])
    return value


def in_namespace(path: CIMInstanceName, namespace: str = NS, host: str | None = None) -> CIMInstanceName:
    located = path.copy()
    located.namespace = path.namespace or namespace
    located.host = host
    return located


def with_path(instance: CIMInstance, path: CIMInstanceName) -> CIMInstance:
    expected = through_pywbem(instance)
    expected.path = path
    return expected


def without_path(klass: CIMClass) -> CIMClass:
    """pywbem sets the path of a class it receives from the connection's URL."""
    klass.path = None
    return klass


PATH_IN_NS = in_namespace(PATH)
SECOND = CIMInstanceName("CIM_Foo", {"Name": "second"}, namespace=NS)
INSTANCES = [full_instance(PATH_IN_NS), full_instance(SECOND)]


def test_enumerate_instances(loop: WireLoop) -> None:
    got = run(loop, IntrinsicResult(value=iter(INSTANCES)), lambda c: c.EnumerateInstances("CIM_Foo"))
    assert got == [with_path(i, i.path) for i in INSTANCES]


def test_enumerate_instances_empty(loop: WireLoop) -> None:
    assert run(loop, IntrinsicResult(value=[]), lambda c: c.EnumerateInstances("CIM_Foo")) == []
    assert b"<IRETURNVALUE></IRETURNVALUE>" in loop.replies[-1]


def test_enumerate_instance_names(loop: WireLoop) -> None:
    got = run(loop, IntrinsicResult(value=[PATH, SECOND]), lambda c: c.EnumerateInstanceNames("CIM_Foo"))
    assert got == [PATH_IN_NS, SECOND]


def test_get_instance(loop: WireLoop) -> None:
    instance = full_instance(PATH_IN_NS)
    got = run(loop, IntrinsicResult(value=instance), lambda c: c.GetInstance(PATH_IN_NS))
    assert got == with_path(instance, PATH_IN_NS)


def test_create_instance(loop: WireLoop) -> None:
    got = run(loop, IntrinsicResult(value=PATH), lambda c: c.CreateInstance(full_instance()))
    assert got == PATH_IN_NS


@pytest.mark.parametrize(
    "operation",
    [
        lambda c: c.ModifyInstance(full_instance(PATH_IN_NS)),
        lambda c: c.DeleteInstance(PATH_IN_NS),
        lambda c: c.CreateClass(full_class()),
        lambda c: c.ModifyClass(full_class()),
        lambda c: c.DeleteClass("CIM_Foo"),
        lambda c: c.SetQualifier(QUALIFIER_DECLARATIONS[1]),
        lambda c: c.DeleteQualifier("Key"),
        lambda c: c.CloseEnumeration(("ctx", NS)),
        lambda c: c._imethodcall("SetProperty", NS, has_return_value=False, InstanceName=PATH,
                                 PropertyName="Name", NewValue="x"),
    ],
    ids=["ModifyInstance", "DeleteInstance", "CreateClass", "ModifyClass", "DeleteClass", "SetQualifier",
         "DeleteQualifier", "CloseEnumeration", "SetProperty"],
)
def test_void_operations_write_no_ireturnvalue(loop: WireLoop, operation: Any) -> None:
    assert run(loop, IntrinsicResult(), operation) is None
    assert b"IRETURNVALUE" not in loop.replies[-1]


def test_associators_of_an_instance(loop: WireLoop) -> None:
    far = full_instance(OTHER_PATH)  # has its own host and namespace
    near = full_instance(CIMInstanceName("CIM_Foo", {"Name": "n"}))  # has neither
    got = run(loop, IntrinsicResult(value=[far, near]), lambda c: c.Associators(PATH_IN_NS))
    assert got == [with_path(far, OTHER_PATH), with_path(near, in_namespace(near.path, host=HOST))]


def test_references_of_an_instance(loop: WireLoop) -> None:
    got = run(loop, IntrinsicResult(value=INSTANCES), lambda c: c.References(PATH_IN_NS))
    assert got == [with_path(i, in_namespace(i.path, host=HOST)) for i in INSTANCES]


def test_associators_and_references_of_a_class(loop: WireLoop) -> None:
    klass = full_class()
    klass.path = CIMClassName("CIM_Foo", namespace="root/other", host="h2")
    pair = (CIMClassName("CIM_Bar"), full_class())
    for operation in (lambda c: c.Associators("CIM_Foo"), lambda c: c.References("CIM_Foo")):
        got = run(loop, IntrinsicResult(value=[klass, pair]), operation)
        for _, received in got:
            received.path = None  # pywbem copies the CLASSPATH into it
        assert got == [
            (CIMClassName("CIM_Foo", namespace="root/other", host="h2"), through_pywbem(full_class())),
            (CIMClassName("CIM_Bar", namespace=NS, host=HOST), through_pywbem(full_class())),
        ]


def test_associator_and_reference_names(loop: WireLoop) -> None:
    paths = [PATH, OTHER_PATH]
    expected = [in_namespace(PATH, host=HOST), OTHER_PATH]
    assert run(loop, IntrinsicResult(value=paths), lambda c: c.AssociatorNames(PATH_IN_NS)) == expected
    assert run(loop, IntrinsicResult(value=paths), lambda c: c.ReferenceNames(PATH_IN_NS)) == expected
    classes = [CIMClassName("CIM_A"), CIMClassName("CIM_B", namespace="x", host="y")]
    assert run(loop, IntrinsicResult(value=classes), lambda c: c.ReferenceNames("CIM_Foo")) == [
        CIMClassName("CIM_A", namespace=NS, host=HOST),
        CIMClassName("CIM_B", namespace="x", host="y"),
    ]


def test_exec_query(loop: WireLoop) -> None:
    got = run(loop, IntrinsicResult(value=INSTANCES), lambda c: c.ExecQuery("WQL", "SELECT * FROM CIM_Foo"))
    assert got == [with_path(i, in_namespace(i.path, host=HOST)) for i in INSTANCES]


def test_exec_query_projection_without_path(loop: WireLoop) -> None:
    row = CIMInstance("CIM_Foo", properties={"Name": "n"})
    (got,) = run(loop, IntrinsicResult(value=[row]), lambda c: c.ExecQuery("WQL", "SELECT Name FROM CIM_Foo"))
    assert b"<VALUE.OBJECT><INSTANCE" in loop.replies[-1]
    assert got.path.keybindings == {}  # pywbem gives it a keyless path in the namespace
    got.path = None
    assert got == through_pywbem(row)


def _pull(value: Any, end: bool, context: str | None) -> IntrinsicResult:
    return IntrinsicResult(value=value, out_params=[("EndOfSequence", "boolean", end),
                                                    ("EnumerationContext", "string", context)])


def test_open_enumerate_instances_finished(loop: WireLoop) -> None:
    got = run(loop, _pull(INSTANCES, True, ""), lambda c: c.OpenEnumerateInstances("CIM_Foo"))
    assert got.eos is True
    assert got.context is None
    assert got.instances == [with_path(i, in_namespace(i.path, host=HOST)) for i in INSTANCES]
    assert b'<PARAMVALUE NAME="EnumerationContext" PARAMTYPE="string"></PARAMVALUE>' in loop.replies[-1]


def test_open_then_pull_then_close(loop: WireLoop) -> None:
    opened = run(loop, _pull([], False, "ctx-7"), lambda c: c.OpenEnumerateInstances("CIM_Foo", MaxObjectCount=0))
    assert (opened.instances, opened.eos, opened.context) == ([], False, ("ctx-7", NS))
    assert b"<IRETURNVALUE></IRETURNVALUE>" in loop.replies[-1]
    pulled = run(loop, _pull(INSTANCES[:1], True, None), lambda c: c.PullInstancesWithPath(opened.context, 10))
    assert pulled.instances == [with_path(INSTANCES[0], in_namespace(PATH, host=HOST))]
    assert pulled.eos is True


@pytest.mark.parametrize(
    "operation",
    [
        lambda c: c.OpenEnumerateInstancePaths("CIM_Foo"),
        lambda c: c.OpenAssociatorInstancePaths(PATH_IN_NS),
        lambda c: c.OpenReferenceInstancePaths(PATH_IN_NS),
        lambda c: c.PullInstancePaths(("ctx", NS), 5),
    ],
)
def test_pull_paths(loop: WireLoop, operation: Any) -> None:
    got = run(loop, _pull([PATH, OTHER_PATH], True, None), operation)
    assert got.paths == [in_namespace(PATH, host=HOST), OTHER_PATH]


@pytest.mark.parametrize(
    "operation",
    [lambda c: c.OpenAssociatorInstances(PATH_IN_NS), lambda c: c.OpenReferenceInstances(PATH_IN_NS)],
)
def test_pull_instances_with_path(loop: WireLoop, operation: Any) -> None:
    got = run(loop, _pull(INSTANCES, False, "c1"), operation)
    assert got.instances == [with_path(i, in_namespace(i.path, host=HOST)) for i in INSTANCES]
    assert got.context == ("c1", NS)


def test_open_query_instances_with_result_class(loop: WireLoop) -> None:
    row = CIMInstance("CIM_Foo", properties={"Name": "n", "Size": Uint64(3)})
    result = _pull([row], True, None)
    result.out_params.append(("QueryResultClass", "", full_class()))
    got = run(loop, result, lambda c: c.OpenQueryInstances("DMTF:CQL", "SELECT Name, Size FROM CIM_Foo",
                                                           ReturnQueryResultClass=True))
    assert got.instances == [through_pywbem(row)]
    assert got.query_result_class == through_pywbem(full_class())


def test_pull_instances(loop: WireLoop) -> None:
    row = CIMInstance("CIM_Foo", properties={"Name": "n"})
    got = run(loop, _pull([row], True, None), lambda c: c.PullInstances(("ctx", NS), 5))
    assert got.instances == [through_pywbem(row)]


def test_classes(loop: WireLoop) -> None:
    klass = full_class()
    got = [run(loop, IntrinsicResult(value=klass), lambda c: c.GetClass("CIM_Foo"))]
    assert got[0].path.classname == "CIM_Foo"
    assert [without_path(k) for k in got] == [through_pywbem(klass)]
    got = run(loop, IntrinsicResult(value=(k for k in [klass, CIMClass("CIM_Empty")])),
              lambda c: c.EnumerateClasses())
    assert [without_path(k) for k in got] == [through_pywbem(klass), through_pywbem(CIMClass("CIM_Empty"))]
    names = run(loop, IntrinsicResult(value=["CIM_A", CIMClassName("CIM_B")]), lambda c: c.EnumerateClassNames())
    assert names == ["CIM_A", "CIM_B"]


def test_qualifier_declarations(loop: WireLoop) -> None:
    got = run(loop, IntrinsicResult(value=QUALIFIER_DECLARATIONS), lambda c: c.EnumerateQualifiers())
    assert got == [through_pywbem(q) for q in QUALIFIER_DECLARATIONS]
    one = run(loop, IntrinsicResult(value=QUALIFIER_DECLARATIONS[3]), lambda c: c.GetQualifier("MaxLen"))
    assert one == through_pywbem(QUALIFIER_DECLARATIONS[3])


@pytest.mark.parametrize(
    ("value", "value_type", "expected"),
    [
        ("a & b", "string", ("VALUE", "a & b")),
        (Uint16(3), "uint16", ("VALUE", "3")),
        ([Uint16(1), Uint16(2)], "uint16", ("VALUE.ARRAY", ["1", "2"])),
        (OTHER_PATH, "reference", ("VALUE.REFERENCE", OTHER_PATH)),
        (None, "string", None),
    ],
)
def test_get_property(loop: WireLoop, value: Any, value_type: str, expected: Any) -> None:
    reply = run(loop, IntrinsicResult(value=value, value_type=value_type),
                lambda c: c._imethodcall("GetProperty", NS, InstanceName=PATH, PropertyName="P"))
    (name, _, children), = reply
    assert name == "IRETURNVALUE"
    if expected is None:
        assert children == []
    elif expected[0] == "VALUE.REFERENCE":
        assert children == [expected[1]]
    else:
        assert children == [expected[1]]


def test_enumeration_count(loop: WireLoop) -> None:
    reply = run(loop, IntrinsicResult(value=Uint64(12), value_type="uint64"),
                lambda c: c._imethodcall("EnumerationCount", NS, EnumerationContext="c"))
    assert reply == [("IRETURNVALUE", {}, ["12"])]


def test_method_response_with_every_output_form(loop: WireLoop) -> None:
    job = CIMInstanceName("Msvm_ConcreteJob", {"InstanceID": "job-1"}, namespace="root/virtualization/v2")
    result = MethodResult(
        "uint32",
        Uint32(4096),
        [
            ("Job", "reference", job, False, None),
            ("Jobs", "reference", [job, OTHER_PATH], True, None),
            ("Names", "string", ["a", "b & c"], True, None),
            ("ResultingSettings", "string", EMBEDDED, False, "instance"),
            ("AllSettings", "string", [EMBEDDED, EMBEDDED], True, "instance"),
            ("Codes", "uint16", [Uint16(1), Uint16(2)], True, None),
            ("Ok", "boolean", True, False, None),
            ("When", "datetime", CIMDateTime("20240102030405.000000+000"), False, None),
            ("Big", "sint64", Sint64(-1), False, None),
            ("Ratio", "real64", Real64(0.1), False, None),
            ("Missing", "string", None, False, None),
        ],
    )
    target = CIMInstanceName("Msvm_ComputerSystem", {"Name": "vm"}, namespace="root/virtualization/v2")
    return_value, out = run(loop, result, lambda c: c.InvokeMethod("RequestStateChange", target))
    assert return_value == Uint32(4096) and return_value.cimtype == "uint32"
    assert out["Job"] == job
    assert out["Jobs"] == [job, OTHER_PATH]
    assert out["Names"] == ["a", "b & c"]
    assert out["ResultingSettings"] == through_pywbem(EMBEDDED)
    assert out["AllSettings"] == [through_pywbem(EMBEDDED)] * 2
    assert out["Codes"] == [1, 2] and out["Codes"][0].cimtype == "uint16"
    assert out["Ok"] is True
    assert out["When"] == CIMDateTime("20240102030405.000000+000")
    assert out["Big"] == -1
    assert out["Ratio"] == 0.1
    assert out["Missing"] is None


def test_method_response_with_reference_return_value(loop: WireLoop) -> None:
    return_value, out = run(loop, MethodResult("reference", OTHER_PATH), lambda c: c.InvokeMethod("M", PATH_IN_NS))
    assert return_value == OTHER_PATH
    assert dict(out) == {}


@pytest.mark.parametrize("intrinsic", [True, False])
def test_error_reaches_pywbem_as_cim_error(loop: WireLoop, intrinsic: bool) -> None:
    def answer(request: Request) -> bytes:
        return write_error(request.message_id, request.method, intrinsic,
                           CIMError(CIM_ERR_NOT_FOUND, 'no "such" <instance> & co'))

    loop.answer = answer
    with pytest.raises(CIMError) as caught:
        if intrinsic:
            loop.conn.GetInstance(PATH_IN_NS)
        else:
            loop.conn.InvokeMethod("M", PATH_IN_NS)
    assert caught.value.status_code == CIM_ERR_NOT_FOUND
    assert caught.value.status_description == 'no "such" <instance> & co'
    check_wire_rules(loop.replies[-1])
    assert b"<INSTANCE" not in loop.replies[-1]
