"""`cimprovider watch`: subscribe to indications and print each as it
arrives. A pywbem listener on this machine receives them; the filter,
destination and subscription are owned by this command and removed when it
ends — after --count or --duration, on Ctrl-C, or on SIGTERM. With
--alerts it watches health alerts only: a line per alert with its
severity and what it says."""

from __future__ import annotations

import json
import signal
import time
from datetime import datetime

import click
import pywbem
from click.core import ParameterSource

from cimprovider.cli.connection import Session, client_command
from cimprovider.cli.failures import CommandFailure, UsageFailure
from cimprovider.cli.hyperv import state_name
from cimprovider.cli.output import instance_record

VM_STATE_CHANGES = (
    "SELECT * FROM CIM_InstModification WHERE SourceInstance ISA Msvm_ComputerSystem "
    "AND SourceInstance.EnabledState <> PreviousInstance.EnabledState"
)

ALERTS = "SELECT * FROM CIM_AlertIndication"
# PerceivedSeverity, as an operator reads it.
SEVERITY = {1: "Other", 2: "Info", 3: "Warning", 4: "Minor", 5: "Major", 6: "Critical", 7: "Fatal"}


def _terminate(_signum, _frame) -> None:  # noqa: ANN001 - signal handler
    raise KeyboardInterrupt


def alert_line(indication: pywbem.CIMInstance) -> dict:
    return {
        "time": datetime.now().astimezone().isoformat(timespec="seconds"),
        "indication": indication.classname,
        "severity": SEVERITY.get(int(indication.get("PerceivedSeverity") or 0), "Unknown"),
        "element": indication.get("AlertingManagedElement"),
        "probable_cause": indication.get("ProbableCause"),
        "description": indication.get("Description"),
    }


def summary_line(indication: pywbem.CIMInstance) -> dict:
    if indication.classname.lower() == "cim_alertindication":
        return alert_line(indication)
    source = indication.get("SourceInstance")
    previous = indication.get("PreviousInstance")
    record = {
        "time": datetime.now().astimezone().isoformat(timespec="seconds"),
        "indication": indication.classname,
        "class": source.classname if isinstance(source, pywbem.CIMInstance) else None,
        "name": source.get("ElementName") if isinstance(source, pywbem.CIMInstance) else None,
        "id": source.get("Name") if isinstance(source, pywbem.CIMInstance) else None,
    }
    if isinstance(source, pywbem.CIMInstance) and "EnabledState" in source:
        record["state"] = state_name(source["EnabledState"])
        if isinstance(previous, pywbem.CIMInstance) and "EnabledState" in previous:
            record["previous_state"] = state_name(previous["EnabledState"])
    return record


@click.command("watch")
@click.option("--query", "query_text", default=VM_STATE_CHANGES, show_default="every VM state change",
              help="The indication filter.")
@click.option("--language", default="DMTF:CQL", show_default=True, help="Query language of --query (WQL or DMTF:CQL).")
@click.option("--listener-host", default="127.0.0.1", show_default=True,
              help="Address the server delivers to: this machine as the server sees it.")
@click.option("--count", type=int, help="Stop after this many indications.")
@click.option("--duration", type=float, help="Stop after this many seconds.")
@click.option("--full", is_flag=True, help="Print whole indications (every property), not one line each.")
@click.option("--alerts", is_flag=True, help="Watch health alerts (CIM_AlertIndication) only, one readable line each.")
@client_command()
def watch(session: Session, query_text: str, language: str, listener_host: str, count: int | None,
          duration: float | None, full: bool, alerts: bool) -> None:
    """Print indications as they arrive (default: every VM state change)."""
    # Imported here: the indications package brings the server's indication
    # service with it, which every other client command would load for nothing.
    from cimprovider.indications.listener import watch_indications

    if alerts:
        if click.get_current_context().get_parameter_source("query_text") is not ParameterSource.DEFAULT:
            raise UsageFailure("watch: give --alerts or --query, not both")
        query_text, language = ALERTS, "DMTF:CQL"
    conn = session.single()
    previous = signal.signal(signal.SIGTERM, _terminate)
    seen = 0
    deadline = None if duration is None else time.monotonic() + duration
    try:
        with watch_indications(conn, query_text, query_language=language, source_namespaces=[session.namespace],
                               listener_host=listener_host) as stream:
            if not session.quiet:  # on stderr, so it never mixes with a JSON stream
                click.echo(f"watching {session.servers[0]} (Ctrl-C to stop)", err=True)
            while count is None or seen < count:
                wait_for = 0.5 if deadline is None else min(0.5, deadline - time.monotonic())
                if wait_for <= 0:
                    break
                try:
                    indication = stream.get(timeout=wait_for)
                except Exception:  # noqa: BLE001 - queue.Empty: look at the clock again
                    continue
                seen += 1
                show(session, indication, full)
    except pywbem.Error as error:
        from cimprovider.cli.failures import failure

        raise failure("watch: subscribing", error) from None
    except OSError as error:
        raise CommandFailure(f"watch: cannot listen on {listener_host}: {error}") from None
    finally:
        signal.signal(signal.SIGTERM, previous)


def show(session: Session, indication: pywbem.CIMInstance, full: bool) -> None:
    record = instance_record(indication, with_path=False) if full else summary_line(indication)
    if session.quiet:
        click.echo(record.get("id") or record.get("indication"))
    elif session.output in ("json", "yaml", "csv"):
        click.echo(json.dumps(record, default=str))  # one JSON object per line: a stream
    else:
        if full:
            click.echo(indication.tomof())
            return
        if "severity" in record:
            click.echo(f"{record['time']}  {record['severity']:<8}  {record['description']}")
            click.get_text_stream("stdout").flush()
            return
        change = f"{record.get('previous_state')} -> {record.get('state')}" if "previous_state" in record else record.get("state", "")
        click.echo(f"{record['time']}  {record['indication']}  {record.get('class') or ''}  {record.get('name') or ''}  {change}".rstrip())
    # A pipe must see each line as it comes, not when the buffer fills.
    click.get_text_stream("stdout").flush()
