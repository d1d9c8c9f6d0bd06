"""Operation responses (DSP0201 §3.2.9): IMETHODRESPONSE, METHODRESPONSE
and ERROR inside the CIM/MESSAGE/SIMPLERSP envelope.

What pywbem and wbemcli demand is in /work/shared/reference/clients.md:
the response NAME equals the request's, void operations carry no
IRETURNVALUE at all, RETURNVALUE and output PARAMVALUEs carry PARAMTYPE,
ERROR never holds INSTANCE children, and no tag is self-closing.
"""

from __future__ import annotations

from typing import Any, Iterable

from pywbem import CIMClass, CIMClassName, CIMError, CIMInstance, CIMInstanceName

from cimprovider.wire import encode
from cimprovider.wire.encode import Write
from cimprovider.wire.intrinsics import Answer, find_intrinsic
from cimprovider.wire.kept import FormWriter, KeptXml, write_kept
from cimprovider.wire.kept_runs import write_run
from cimprovider.wire.messages import ExtrinsicCall, IntrinsicCall, IntrinsicResult, KeptInstance, KeptRun, MethodResult
from cimprovider.wire.reply import Reply, ReplyBody
from cimprovider.wire.scalars import escape_attr

_PROLOG = '<?xml version="1.0" encoding="utf-8" ?>\n<CIM CIMVERSION="2.0" DTDVERSION="2.0">'


def _envelope(message_id: str, body: list[str]) -> bytes:
    head = f'{_PROLOG}<MESSAGE ID="{escape_attr(message_id)}" PROTOCOLVERSION="1.0"><SIMPLERSP>'
    body.insert(0, head)
    body.append("</SIMPLERSP></MESSAGE></CIM>")
    return "".join(body).encode("utf-8")


def _need_path(instance: Any, operation: str) -> CIMInstanceName:
    path = getattr(instance, "path", None)
    if not isinstance(path, CIMInstanceName):
        raise ValueError(f"{operation} answers instances with paths; {instance!r:.80} has none")
    return path


def _kept_or_instances(items: Iterable[Any], form: FormWriter, name: str, call: IntrinsicCall, host: str, out: ReplyBody, store: KeptXml | None) -> None:
    """Each item in `form`: a KeptInstance from the store (or built and
    kept), an instance as it is."""
    owners: Any = None
    last_shape: Any = _NO_SHAPE
    full_shape: Any = None
    w = out.write
    for item in items:
        if type(item) is KeptInstance:
            if item.shape is not last_shape:
                last_shape = item.shape
                full_shape = (name, host, call.namespace, item.shape)
                owners = store.owners(full_shape) if store is not None else None
            write_kept(item, full_shape, owners, store, form, out)
            if owners is None and store is not None:
                owners = store.owners(full_shape)
        elif type(item) is KeptRun:
            write_run(item, (name, host, call.namespace, item.shape), store, form, out)
            last_shape = _NO_SHAPE  # the run may have made the shape's entries
        else:
            form(item, w, frozenset(), None)
            out.settle()


_NO_SHAPE = object()


def _named_form(call: IntrinsicCall, host: str) -> FormWriter:
    def write(instance: CIMInstance, w: Write, holes: frozenset[str], cut: Any) -> None:
        w("<VALUE.NAMEDINSTANCE>")
        encode.write_instance_name(_need_path(instance, call.method), w)
        encode.write_instance(instance, w, holes, cut)
        w("</VALUE.NAMEDINSTANCE>")

    return write


def _named_instances(items: Iterable[Any], call: IntrinsicCall, host: str, out: ReplyBody, store: KeptXml | None) -> None:
    _kept_or_instances(items, _named_form(call, host), "named", call, host, out, store)


def _class_and_path(item: Any, namespace: str) -> tuple[CIMClassName, CIMClass]:
    if isinstance(item, tuple):
        return item[0], item[1]
    path = item.path if item.path is not None else CIMClassName(item.classname, namespace=namespace)
    return path, item


def _object_form(call: IntrinsicCall, host: str) -> FormWriter:
    def write(instance: CIMInstance, w: Write, holes: frozenset[str], cut: Any) -> None:
        w("<VALUE.OBJECTWITHPATH>")
        encode.write_instance_path(_need_path(instance, call.method), host, call.namespace, w)
        encode.write_instance(instance, w, holes, cut)
        w("</VALUE.OBJECTWITHPATH>")

    return write


def _objects_with_path(items: Iterable[Any], call: IntrinsicCall, host: str, out: ReplyBody, store: KeptXml | None) -> None:
    """VALUE.OBJECTWITHPATH; instances need a path, classes may come as
    (CIMClassName, CIMClass) pairs. A pathless instance (a query projection)
    is written as VALUE.OBJECT, which pywbem's ExecQuery also reads."""
    w = out.write
    form = _object_form(call, host)
    for item in items:
        out.settle()
        if type(item) is KeptInstance:
            _kept_or_instances([item], form, "object", call, host, out, store)
            continue
        if isinstance(item, CIMInstance):
            if item.path is None and call.method == "ExecQuery":
                w("<VALUE.OBJECT>")
                encode.write_instance(item, w)
                w("</VALUE.OBJECT>")
                continue
            w("<VALUE.OBJECTWITHPATH>")
            encode.write_instance_path(_need_path(item, call.method), host, call.namespace, w)
            encode.write_instance(item, w)
        else:
            path, klass = _class_and_path(item, call.namespace)
            w("<VALUE.OBJECTWITHPATH>")
            w(encode.class_path_xml(path, host, call.namespace))
            encode.write_class(klass, w)
        w("</VALUE.OBJECTWITHPATH>")


def _object_paths(items: Iterable[Any], call: IntrinsicCall, host: str, w: Write) -> None:
    for path in items:
        w("<OBJECTPATH>")
        if isinstance(path, CIMInstanceName):
            encode.write_instance_path(path, host, call.namespace, w)
        else:
            w(encode.class_path_xml(path, host, call.namespace))
        w("</OBJECTPATH>")


def _with_path_form(call: IntrinsicCall, host: str) -> FormWriter:
    def write(instance: CIMInstance, w: Write, holes: frozenset[str], cut: Any) -> None:
        w("<VALUE.INSTANCEWITHPATH>")
        encode.write_instance_path(_need_path(instance, call.method), host, call.namespace, w)
        encode.write_instance(instance, w, holes, cut)
        w("</VALUE.INSTANCEWITHPATH>")

    return write


def _instances_with_path(items: Iterable[Any], call: IntrinsicCall, host: str, out: ReplyBody, store: KeptXml | None) -> None:
    _kept_or_instances(items, _with_path_form(call, host), "with path", call, host, out, store)


def _instance_paths(items: Iterable[CIMInstanceName], call: IntrinsicCall, host: str, w: Write) -> None:
    for path in items:
        encode.write_instance_path(path, host, call.namespace, w)


def _plain_form(instance: CIMInstance, w: Write, holes: frozenset[str], cut: Any) -> None:
    encode.write_instance(instance, w, holes, cut)


def _instances(items: Iterable[Any], call: IntrinsicCall, host: str, out: ReplyBody, store: KeptXml | None) -> None:
    _kept_or_instances(items, _plain_form, "plain", call, host, out, store)


def _classes(items: Iterable[CIMClass], call: IntrinsicCall, host: str, w: Write) -> None:
    for klass in items:
        encode.write_class(klass, w)


def _class_names(items: Iterable[Any], call: IntrinsicCall, host: str, w: Write) -> None:
    for name in items:
        w(encode.class_name_xml(name.classname if isinstance(name, CIMClassName) else name))


def _instance_names(items: Iterable[CIMInstanceName], call: IntrinsicCall, host: str, w: Write) -> None:
    for path in items:
        encode.write_instance_name(path, w)


def _qualifier_declarations(items: Iterable[Any], call: IntrinsicCall, host: str, w: Write) -> None:
    for decl in items:
        encode.write_qualifier_declaration(decl, w)


def _text(writer: Any) -> Any:
    """A writer of text only, in the form of those that may add kept bytes."""

    def write(items: Any, call: IntrinsicCall, host: str, out: ReplyBody, store: KeptXml | None) -> None:
        writer(items, call, host, out.write)

    return write


def _single(writer: Any) -> Any:
    def write_one(value: Any, call: IntrinsicCall, host: str, out: ReplyBody, store: KeptXml | None) -> None:
        if value is not None:
            writer([value], call, host, out, store)

    return write_one


_LIST_WRITERS = {
    Answer.CLASSES: _text(_classes),
    Answer.CLASSNAMES: _text(_class_names),
    Answer.NAMED_INSTANCES: _named_instances,
    Answer.INSTANCENAMES: _text(_instance_names),
    Answer.OBJECTS_WITH_PATH: _objects_with_path,
    Answer.OBJECT_PATHS: _text(_object_paths),
    Answer.INSTANCES_WITH_PATH: _instances_with_path,
    Answer.INSTANCE_PATHS: _text(_instance_paths),
    Answer.INSTANCES: _instances,
    Answer.QUALIFIER_DECLARATIONS: _text(_qualifier_declarations),
    Answer.CLASS: _single(_text(_classes)),
    Answer.INSTANCE: _single(_instances),
    Answer.INSTANCENAME: _single(_text(_instance_names)),
    Answer.QUALIFIER_DECLARATION: _single(_text(_qualifier_declarations)),
}


def _param_value(name: str, cimtype: str | None, value: Any, embedded: str | None, w: Write) -> None:
    type_attr = f' PARAMTYPE="{cimtype}"' if cimtype else ""
    embed_attr = f' EmbeddedObject="{embedded}"' if embedded else ""
    w(f'<PARAMVALUE NAME="{escape_attr(name)}"{type_attr}{embed_attr}>')
    if isinstance(value, CIMClass) and not embedded:
        encode.write_class(value, w)  # e.g. QueryResultClass of OpenQueryInstances
    elif isinstance(value, CIMInstance) and not embedded:
        encode.write_instance(value, w)
    elif not (name == "EnumerationContext" and isinstance(value, str) and not value):
        # An empty final EnumerationContext stays an empty PARAMVALUE, the
        # form both pywbem and wbemcli were seen to accept.
        encode.write_value(value, cimtype, w, embedded=bool(embedded))
    w("</PARAMVALUE>")


def write_intrinsic_response(call: IntrinsicCall, result: IntrinsicResult, host: str) -> bytes:
    """The IMETHODRESPONSE to `call`, in one piece (see write_intrinsic_reply)."""
    return bytes(write_intrinsic_reply(call, result, host))


def write_intrinsic_reply(call: IntrinsicCall, result: IntrinsicResult, host: str, store: KeptXml | None = None) -> Reply:
    """The IMETHODRESPONSE to `call`, in pieces to send in chunks. `host`
    fills INSTANCEPATH/CLASSPATH where a path has none (the name clients
    used to reach us). With a `store`, KeptInstance items are written from
    (and into) it; without one they are built and written every time."""
    op = find_intrinsic(call.method)
    if op is None:
        raise ValueError(f"{call.method} is not an intrinsic method")
    out = ReplyBody()
    w = out.write
    w(f'{_PROLOG}<MESSAGE ID="{escape_attr(call.message_id)}" PROTOCOLVERSION="1.0"><SIMPLERSP>')
    w(f'<IMETHODRESPONSE NAME="{escape_attr(call.method)}">')
    if op.answer is not Answer.VOID:
        w("<IRETURNVALUE>")
        if op.answer is Answer.PROPERTY_VALUE:
            encode.write_value(result.value, result.value_type, w, embedded=bool(result.embedded_object))
        elif op.answer is Answer.COUNT:
            if result.value is not None:
                w(f"<VALUE>{int(result.value)}</VALUE>")
        elif result.value is not None:
            _LIST_WRITERS[op.answer](result.value, call, host, out, store)
        w("</IRETURNVALUE>")
    for name, cimtype, value in result.out_params:
        _param_value(name, cimtype, value, None, w)
    w("</IMETHODRESPONSE></SIMPLERSP></MESSAGE></CIM>")
    return out.finish()


def write_method_response(call: ExtrinsicCall, result: MethodResult) -> bytes:
    """The METHODRESPONSE to `call`: RETURNVALUE with PARAMTYPE, then the
    output parameters in the order given."""
    body: list[str] = [f'<METHODRESPONSE NAME="{escape_attr(call.method)}">']
    w = body.append
    w(f'<RETURNVALUE PARAMTYPE="{result.return_type}">')
    encode.write_value(result.return_value, result.return_type, w)
    w("</RETURNVALUE>")
    for name, cimtype, value, is_array, embedded in result.out_params:
        if is_array and value is not None and not isinstance(value, (list, tuple)):
            raise ValueError(f"output parameter {name} is an array but its value is not a list")
        _param_value(name, cimtype, value, embedded, w)
    w("</METHODRESPONSE>")
    return _envelope(call.message_id, body)


def write_error(message_id: str, method: str, intrinsic: bool, error: CIMError) -> bytes:
    """An ERROR response. CIM_Error instances are left out on purpose:
    wbemcli cannot parse an ERROR that holds INSTANCE children."""
    tag = "IMETHODRESPONSE" if intrinsic else "METHODRESPONSE"
    description = escape_attr(error.status_description or "")
    body = [
        f'<{tag} NAME="{escape_attr(method)}"><ERROR CODE="{int(error.status_code)}" '
        f'DESCRIPTION="{description}"></ERROR></{tag}>'
    ]
    return _envelope(message_id, body)
