"""`cimprovider vm metrics VM [--enable|--disable|--reset]`: Measure-VM.
Metering is turned on, off or back to zero with Msvm_MetricService's
ControlMetrics on the VM; the figures are the VM's metric values, reached
through Msvm_MetricForME and told apart by their definitions' names."""

from __future__ import annotations

import click
import pywbem
from pywbem import CIMInstance, Uint16

from cimprovider.cli.completion import vm_names
from cimprovider.cli.connection import Session, client_command
from cimprovider.cli.failures import CommandFailure, failure
from cimprovider.cli.hyperv import VM, require_vm
from cimprovider.cli.output import emit, note
from cimprovider.cli.vm import vm

METRIC_SERVICE = "Msvm_MetricService"
OPERATIONS = {"enable": 2, "disable": 3, "reset": 4}
# Measure-VM's columns and the definition each is read from.
COLUMNS = {
    "avg_cpu_mhz": "Aggregated Average CPU Utilization",
    "avg_ram_mb": "Aggregated Average Memory Utilization",
    "min_ram_mb": "Aggregated Minimum Memory Utilization",
    "max_ram_mb": "Aggregated Maximum Memory Utilization",
    "total_disk_mb": ("Disk Data Read", "Disk Data Written"),
    "network_inbound_mb": "Filtered Incoming Network Traffic",
    "network_outbound_mb": "Filtered Outgoing Network Traffic",
}
FIELDS = ("name", *COLUMNS, "metering_duration_seconds")


def control(conn: pywbem.WBEMConnection, target: VM, operation: str) -> None:
    try:
        services = conn.EnumerateInstanceNames(METRIC_SERVICE)
        if not services:
            raise CommandFailure(f"{METRIC_SERVICE}: the server has no instance of it")
        code, _ = conn.InvokeMethod("ControlMetrics", services[0], Subject=target.path, Definition=None,
                                    MetricCollectionEnabled=Uint16(OPERATIONS[operation]))
    except pywbem.CIMError as error:
        raise failure(f"vm metrics {target.name} --{operation}", error) from None
    if int(code) != 0:
        raise CommandFailure(f"vm metrics {target.name} --{operation}: ControlMetrics answered {int(code)}")


def measure(target: VM) -> dict | None:
    """The VM's Measure-VM record, or None while metering is off for it."""
    values: list[CIMInstance] = target.conn.Associators(target.path, AssocClass="Msvm_MetricForME")
    if not values:
        return None
    by_name = {str(v["ElementName"]): v for v in values}
    record: dict = {"name": target.name}
    for column, names in COLUMNS.items():
        wanted = names if isinstance(names, tuple) else (names,)
        record[column] = sum(int(by_name[n]["MetricValue"]) for n in wanted if n in by_name)
    windows = [v["AggregationDuration"] for v in values if "AggregationDuration" in v]
    record["metering_duration_seconds"] = windows[0] if windows else None
    return record


@vm.command("metrics")
@click.argument("name", shell_complete=vm_names)
@click.option("--enable", is_flag=True, help="Start metering the VM (its figures keep counting if it already is).")
@click.option("--disable", is_flag=True, help="Stop metering the VM and forget its figures.")
@click.option("--reset", is_flag=True, help="Start the VM's metering window again from zero.")
@client_command()
def metrics_command(session: Session, name: str, enable: bool, disable: bool, reset: bool) -> None:
    """Resource metering of VM NAME, as Measure-VM shows it."""
    # One operation at a time: with two, whichever came last on the line
    # silently won, so `--enable --disable` turned metering off.
    given = [op for op, flag in (("enable", enable), ("disable", disable), ("reset", reset)) if flag]
    if len(given) > 1:
        named = ", ".join(f"--{op}" for op in given[:-1]) + f" and --{given[-1]}"
        raise click.UsageError(f"{named} cannot be given together; give one")
    operation = given[0] if given else None
    conn = session.single()
    target = require_vm(conn, name)
    if operation is not None:
        control(conn, target, operation)
        note(f"metering {operation}d for {target.name}" if operation != "reset" else f"metering reset for {target.name}")
        if operation == "disable":
            return
    record = measure(target)
    if record is None:
        raise CommandFailure(f"vm metrics {target.name}: metering is off for this VM; turn it on with --enable")
    emit(session, [record], FIELDS, "name")
