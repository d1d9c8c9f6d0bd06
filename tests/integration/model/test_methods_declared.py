"""Every method an Msvm class declares (its own or inherited) is either
implemented — invoking it does not answer CIM_ERR_NOT_SUPPORTED — or
listed in UNSUPPORTED_METHODS / UNSUPPORTED_CLASSES with a reason; and
nothing listed is in fact implemented."""

from __future__ import annotations

from pywbem import CIMError, CIMInstanceName

from cimprovider.providers.virtualization import UNSUPPORTED_CLASSES, UNSUPPORTED_METHODS
from tests.integration.model.hyperv import NS


def declared_methods(conn) -> list[tuple[str, str, list[str]]]:
    found = []
    for cls in conn.EnumerateClasses(NS, DeepInheritance=True, LocalOnly=False, IncludeQualifiers=True):
        if not cls.classname.startswith("Msvm_") or cls.classname in UNSUPPORTED_CLASSES:
            continue
        keys = [p.name for p in cls.properties.values() if "Key" in p.qualifiers and p.qualifiers["Key"].value]
        for method in cls.methods.values():
            found.append((cls.classname, method.name, keys))
    return found


def answers_not_supported(conn, classname: str, method: str, keys: list[str]) -> bool:
    path = CIMInstanceName(classname, keybindings={k: "no-such-instance" for k in keys}, namespace=NS)
    try:
        conn.InvokeMethod(method, path)
    except CIMError as error:
        return error.status_code == 7
    return False


def test_every_msvm_method_is_implemented_or_listed(conn):
    methods = declared_methods(conn)
    assert len(methods) > 20
    missing, listed_but_working = [], []
    for classname, method, keys in methods:
        listed = f"{classname}.{method}" in UNSUPPORTED_METHODS
        unsupported = answers_not_supported(conn, classname, method, keys)
        if unsupported and not listed:
            missing.append(f"{classname}.{method}")
        if listed and not unsupported:
            listed_but_working.append(f"{classname}.{method}")
    assert missing == [], "neither implemented nor listed in UNSUPPORTED_METHODS"
    assert listed_but_working == [], "listed as unsupported but implemented"
    assert all(reason for reason in UNSUPPORTED_METHODS.values())
