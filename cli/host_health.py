"""`cimprovider host health`: the server's host, then every VM and every
integration component that is not OK, each with its HealthState, its
OperationalStatus and why. The exit code says it for scripts and
monitoring checks: 0 when everything is OK, 7 (UNHEALTHY) when anything
is not, and the usual failure codes when the server cannot be asked."""

from __future__ import annotations

import click
import pywbem

from cimprovider.cli.connection import Session, client_command
from cimprovider.cli.failures import UNHEALTHY, CommandFailure, failure
from cimprovider.cli.hyperv import CS, HEALTH
from cimprovider.cli.output import emit

FIELDS = ("kind", "name", "health", "status", "why", "id")
TABLE = ("kind", "name", "health", "status", "why")
HEALTH_NAMES = {0: "Unknown", **HEALTH}
STATUS_NAMES = {2: "OK", 3: "Degraded", 5: "Predictive Failure", 6: "Error", 7: "Non-Recoverable Error", 10: "Stopped",
                12: "No Contact", 13: "Lost Communication", 15: "Dormant"}
COMPONENTS = {
    "Msvm_HeartbeatComponent": "Heartbeat",
    "Msvm_ShutdownComponent": "Guest Shutdown",
    "Msvm_KvpExchangeComponent": "Key-Value Pair Exchange",
    "Msvm_TimeSyncComponent": "Time Synchronization",
    "Msvm_VssComponent": "VSS",
}
OK = 5
LOST_COMMUNICATION = 13


def row(kind: str, name: str, element: pywbem.CIMInstance, element_id: str) -> dict:
    health = int(element.get("HealthState") or 0)
    statuses = [int(code) for code in element.get("OperationalStatus") or ()]
    return {
        "kind": kind,
        "name": name,
        "health": HEALTH_NAMES.get(health, str(health)),
        "status": ", ".join(STATUS_NAMES.get(code, str(code)) for code in statuses),
        "why": "; ".join(str(text) for text in element.get("StatusDescriptions") or () if text != "OK"),
        "id": element_id,
        "_health": health,
    }


def health_rows(conn: pywbem.WBEMConnection) -> list[dict]:
    systems = conn.EnumerateInstances(CS)
    host = [s for s in systems if s.get("Caption") == "Hosting Computer System"]
    vms = {str(s["Name"]).upper(): s for s in systems if s.get("Caption") != "Hosting Computer System"}
    rows = [row("host", str(h["ElementName"]), h, str(h["Name"])) for h in host]
    if any(LOST_COMMUNICATION in (h.get("OperationalStatus") or ()) for h in host):
        return rows  # no hypervisor to ask about VMs: the host row says why
    rows += sorted((row("vm", str(vm["ElementName"]), vm, guid) for guid, vm in vms.items()
                    if int(vm.get("HealthState") or OK) != OK), key=lambda r: r["name"].lower())
    for classname, label in COMPONENTS.items():
        for component in conn.EnumerateInstances(classname):
            if int(component.get("HealthState") or OK) == OK:
                continue
            vm = vms.get(str(component["SystemName"]).upper())
            owner = str(vm["ElementName"]) if vm is not None else str(component["SystemName"])
            rows.append(row("component", f"{label} of {owner}", component, str(component["DeviceID"])))
    return rows


@click.command("health")
@client_command()
def health(session: Session) -> None:
    """The host, and every VM and integration component that is not OK.

    Exits 0 when all is OK and 7 when anything is not (a check for
    monitoring), so `cimprovider host health -q` prints only the names."""
    conn = session.single()
    try:
        rows = health_rows(conn)
    except pywbem.Error as error:
        raise failure("host health", error) from None
    emit(session, rows, FIELDS, "name", TABLE)
    unhealthy = [r for r in rows if r["_health"] != OK]
    if unhealthy:
        worst = max(unhealthy, key=lambda r: r["_health"])
        raise CommandFailure(f"host health: {len(unhealthy)} not OK, the worst {worst['kind']} {worst['name']} ({worst['health']})",
                             UNHEALTHY)
