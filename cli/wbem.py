"""The generic WBEM verbs, for scripts and for whatever the VM commands do
not cover: `enum CLASS`, `get PATH`, `invoke PATH METHOD NAME=VALUE…`,
`query "WQL…"`, `assoc PATH`.

PATH is a WBEM URI (`Msvm_ComputerSystem.CreationClassName="Msvm_ComputerSystem",Name="…"`,
with or without `namespace:` in front) or a WMI path
(`\\\\HOST\\root\\virtualization\\v2:Msvm_…`). Method arguments are typed from
the class's method declaration; an array is given as a JSON list or by
repeating NAME=; a reference as a PATH."""

from __future__ import annotations

import json
import re

import click
import pywbem
from pywbem import CIMClass, CIMInstanceName, cimvalue

from cimprovider.cli.connection import Session, client_command
from cimprovider.cli.failures import CommandFailure, UsageFailure
from cimprovider.cli.fanout import gather
from cimprovider.cli.jobs import JOB_STARTED, wait
from cimprovider.cli.output import emit, emit_one, instance_record, plain
from cimprovider.cli.value_names import ValueNames

_WMI_PATH = re.compile(r"^\\\\([^\\]+)\\(.+?):(.+)$")


def parse_path(text: str, namespace: str) -> CIMInstanceName:
    match = _WMI_PATH.match(text)
    if match:
        host, ns, rest = match.groups()
        text = f"{ns.replace(chr(92), '/')}:{rest}"
    try:
        path = CIMInstanceName.from_wbem_uri(text)
    except ValueError as error:
        raise UsageFailure(f"PATH {text!r}: {error}") from None
    path.namespace = path.namespace or namespace
    path.host = None
    return path


def _columns(rows: list[dict]) -> list[str]:
    return list(dict.fromkeys(k for row in rows for k in row))


@click.command("enum")
@click.argument("classname")
@click.option("--names-only", is_flag=True, help="Only the instance paths.")
@click.option("--property", "properties", multiple=True, help="Only this property (repeatable).")
@client_command()
def enum(session: Session, classname: str, names_only: bool, properties: tuple[str, ...]) -> None:
    """Enumerate the instances of CLASSNAME (and its subclasses), of every --server."""

    def fetch(conn: pywbem.WBEMConnection) -> list[dict]:
        if names_only:
            return [{"path": str(p)} for p in conn.EnumerateInstanceNames(classname)]
        found = conn.EnumerateInstances(classname, PropertyList=list(properties) or None)
        names = ValueNames(conn)
        return [names.apply(i, instance_record(i)) for i in found]

    gathered = gather(session, fetch)
    columns = _columns(gathered.rows)
    shown = [c for c in columns if c != "host" or session.several]
    if not names_only and not properties:
        # Every property of an Msvm class is far too wide for a terminal:
        # the table shows what names an instance; -o json|yaml shows all.
        keys = list(CIMInstanceName.from_wbem_uri(gathered.rows[0]["path"]).keybindings) if gathered.rows else []
        shown = [c for c in shown if c == "host" or c in keys or c in ("ElementName", "EnabledState")]
    emit(session, gathered.rows, columns, "path", table_columns=shown, answered=gathered.answered)
    gathered.finish(f"enum {classname}")


@click.command("get")
@click.argument("path")
@click.option("--property", "properties", multiple=True, help="Only this property (repeatable).")
@client_command()
def get(session: Session, path: str, properties: tuple[str, ...]) -> None:
    """One instance, by PATH."""
    conn = session.single()
    instance = conn.GetInstance(parse_path(path, session.namespace), PropertyList=list(properties) or None)
    emit_one(session, ValueNames(conn).apply(instance, instance_record(instance)), "path")


def typed_arguments(cls: CIMClass, method: str, pairs: tuple[str, ...], namespace: str) -> dict:
    declared = next((m for name, m in cls.methods.items() if name.lower() == method.lower()), None)
    if declared is None:
        raise UsageFailure(f"{cls.classname} has no method {method!r} (it has: {', '.join(cls.methods) or 'none'})")
    params: dict[str, list[str] | str] = {}
    for pair in pairs:
        if "=" not in pair:
            raise UsageFailure(f"argument {pair!r}: expected NAME=VALUE")
        name, value = pair.split("=", 1)
        params.setdefault(name, []).append(value)  # type: ignore[union-attr]
    typed = {}
    for name, values in params.items():
        parameter = next((p for n, p in declared.parameters.items() if n.lower() == name.lower()), None)
        if parameter is None:
            raise UsageFailure(f"{method} has no parameter {name!r} (it has: {', '.join(declared.parameters)})")
        typed[parameter.name] = convert(parameter, list(values), namespace)
    return typed


BOOLEANS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


def convert(parameter: pywbem.CIMParameter, values: list[str], namespace: str):
    def one(text: str):
        if parameter.type == "reference":
            return parse_path(text, namespace)
        if parameter.type == "string":
            return text
        if parameter.type == "boolean":
            answer = BOOLEANS.get(text.strip().lower())
            if answer is None:
                raise UsageFailure(f"parameter {parameter.name} is a boolean: give true or false, not {text!r}")
            return answer
        try:
            return cimvalue(text, parameter.type)
        except (ValueError, TypeError) as error:
            raise UsageFailure(f"parameter {parameter.name} is a {parameter.type}: {text!r} is not one ({error})") from None

    if parameter.is_array:
        items: list[str] = []
        for text in values:
            items += [str(v) for v in json.loads(text)] if text.startswith("[") else [text]
        return [one(v) for v in items]
    if len(values) > 1:
        raise UsageFailure(f"parameter {parameter.name} is not an array; give it once")
    return one(values[0])


@click.command("invoke")
@click.argument("path")
@click.argument("method")
@click.argument("arguments", nargs=-1, metavar="[NAME=VALUE]...")
@client_command(job=True)
def invoke(session: Session, path: str, method: str, arguments: tuple[str, ...]) -> None:
    """Call METHOD on the instance (or class) PATH. A 4096 answer is waited for
    like any job (unless --no-wait); the return value and outputs are printed."""
    conn = session.single()
    target: CIMInstanceName | str
    if "." in path or "\\" in path:
        target = parse_path(path, session.namespace)
        classname = target.classname
    else:
        target = classname = path.split(":")[-1]
    cls = conn.GetClass(classname, LocalOnly=False, IncludeQualifiers=False)
    params = typed_arguments(cls, method, arguments, session.namespace)
    code, out = conn.InvokeMethod(method, target, **params)
    record = {"ReturnValue": plain(code), **{k: plain(v) for k, v in out.items()}}
    if int(code) == JOB_STARTED and out.get("Job") is not None and session.wait:
        finished = wait(session, conn, out["Job"], f"{method}")
        record["JobState"] = plain(finished["JobState"])
    emit_one(session, record, "ReturnValue")
    if int(code) not in (0, JOB_STARTED):
        raise CommandFailure(f"invoke {method}: returned {int(code)}")


@click.command("query")
@click.argument("text")
@click.option("--language", default="WQL", show_default=True, help="WQL or DMTF:CQL.")
@client_command()
def query(session: Session, text: str, language: str) -> None:
    """Run a query (ExecQuery), on every --server at once."""

    def fetch(conn: pywbem.WBEMConnection) -> list[dict]:
        names = ValueNames(conn)
        return [names.apply(i, instance_record(i)) for i in conn.ExecQuery(language, text)]

    gathered = gather(session, fetch)
    columns = _columns(gathered.rows)
    emit(session, gathered.rows, columns, "path",
         table_columns=[c for c in columns if (c != "host" or session.several) and c != "path"],
         answered=gathered.answered)
    gathered.finish("query")


@click.command("assoc")
@click.argument("path")
@click.option("--assoc-class", help="Only through this association class.")
@click.option("--result-class", help="Only instances of this class.")
@click.option("--role", help="The role PATH plays in the association.")
@click.option("--result-role", help="The role the results play.")
@click.option("--references", is_flag=True, help="The association instances themselves (References).")
@click.option("--names-only", is_flag=True, help="Only the paths.")
@client_command()
def assoc(session: Session, path: str, assoc_class: str | None, result_class: str | None, role: str | None,
          result_role: str | None, references: bool, names_only: bool) -> None:
    """Instances associated with PATH (Associators, or References)."""
    conn = session.single()
    source = parse_path(path, session.namespace)
    if references:
        kwargs = {"ResultClass": assoc_class or result_class, "Role": role}
        found = conn.ReferenceNames(source, **kwargs) if names_only else conn.References(source, **kwargs)
    else:
        kwargs = {"AssocClass": assoc_class, "ResultClass": result_class, "Role": role, "ResultRole": result_role}
        found = conn.AssociatorNames(source, **kwargs) if names_only else conn.Associators(source, **kwargs)
    names = ValueNames(conn)
    rows = [{"path": str(p)} for p in found] if names_only else [names.apply(i, instance_record(i)) for i in found]
    columns = _columns(rows) or ["path"]
    emit(session, rows, columns, "path", table_columns=columns if names_only else ["path"] + [c for c in columns if c in ("ElementName", "InstanceID", "Name")])
