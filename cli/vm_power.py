"""`cimprovider vm start|stop|shutdown|save|pause|resume|restart NAME…`:
Msvm_ComputerSystem.RequestStateChange (msvm-v2.md §4), and for a guest
shutdown the VM's Msvm_ShutdownComponent.InitiateShutdown, as Stop-VM does
without -TurnOff."""

from __future__ import annotations

import time

import click
from pywbem import Uint16

from cimprovider.cli.completion import vm_names
from cimprovider.cli.connection import Session, client_command
from cimprovider.cli.failures import CommandFailure, return_code_text
from cimprovider.cli.hyperv import VM, require_vm, state_name
from cimprovider.cli.jobs import JOB_STARTED, invoke, wait
from cimprovider.cli.vm import vm

INVALID_STATE = 32775
# Commands whose RequestedState the server also takes from states the command
# does not mean (2 starts an Off or Saved VM: `vm resume` must not); the
# others are judged by the server, whose 32775 names the VM's state.
CHECKED_HERE = {"resume"}
# command: (RequestedState, the state it ends in, the states it may start from, past tense)
POWER = {
    "start": (2, 2, {3, 6}, "started"),
    "stop": (3, 3, {2, 9, 6}, "turned off"),
    "save": (6, 6, {2, 9}, "saved"),
    "pause": (9, 9, {2}, "paused"),
    "resume": (2, 2, {9}, "resumed"),
    "restart": (11, 2, {2}, "restarted"),
}
HELP = {
    "start": "Start VMs (from Off or Saved).",
    "stop": "Turn VMs off at once, like pulling the plug (Stop-VM -TurnOff). See also `shutdown`.",
    "save": "Save VMs' memory to disk and stop them.",
    "pause": "Pause running VMs.",
    "resume": "Resume paused VMs.",
    "restart": "Reset running VMs (a hard restart).",
}


def change_state(session: Session, target: VM, command: str) -> None:
    requested, end, sources, done = POWER[command]
    what = f"vm {command} {target.name!r}"
    if command in CHECKED_HERE and target.state not in sources | {end}:
        starts = ", ".join(state_name(state) for state in sorted(sources))
        raise CommandFailure(f"{what}: the VM is {state_name(target.state)}; {command} takes a VM that is {starts}")
    code, out = invoke(target.conn, target.path, "RequestStateChange", what, RequestedState=Uint16(requested))
    if code == INVALID_STATE or (code != 0 and code != JOB_STARTED):
        current = target.refresh().state
        if code == INVALID_STATE and current == end and command != "restart":
            click.echo(f"{target.name} is already {state_name(current)}")
            return
        raise CommandFailure(f"{what}: RequestStateChange returned {return_code_text(code)}; the VM is {state_name(current)}")
    if code == JOB_STARTED:
        if not session.wait:
            click.echo(str(out["Job"]))
            return
        wait(session, target.conn, out["Job"], what)
    click.echo(target.guid if session.quiet else f"{target.name} {done}")


def power_command(command: str) -> click.Command:
    @click.argument("names", nargs=-1, required=True, shell_complete=vm_names)
    @client_command(job=True)
    def run(session: Session, names: tuple[str, ...]) -> None:
        conn = session.single()
        for name in names:
            change_state(session, require_vm(conn, name), command)

    run.__doc__ = HELP[command]
    return vm.command(command)(run)


for _command in POWER:
    power_command(_command)


@vm.command("shutdown")
@click.argument("names", nargs=-1, required=True, shell_complete=vm_names)
@click.option("--force", is_flag=True, help="Do not let applications in the guest delay it.")
@click.option("--reason", default="cimprovider vm shutdown", show_default=True, help="Told to the guest.")
@click.option("--timeout-seconds", "limit", type=float, default=300, show_default=True, help="How long to wait for Off.")
@client_command(job=True)
def shutdown(session: Session, names: tuple[str, ...], force: bool, reason: str, limit: float) -> None:
    """Ask the guests to shut down (their Msvm_ShutdownComponent) and wait until Off."""
    conn = session.single()
    for name in names:
        target = require_vm(conn, name)
        if target.state == 3:
            click.echo(f"{target.name} is already Off")
            continue
        component = [c for c in conn.EnumerateInstanceNames("Msvm_ShutdownComponent") if str(c["SystemName"]).upper() == target.guid.upper()]
        if not component:
            raise CommandFailure(f"vm shutdown {name!r}: the guest has no shutdown integration service (the VM is {state_name(target.state)})")
        code, _ = invoke(conn, component[0], "InitiateShutdown", f"vm shutdown {name!r}", Force=force, Reason=reason)
        if code != 0:
            raise CommandFailure(f"vm shutdown {name!r}: InitiateShutdown returned {return_code_text(code)}")
        if not session.wait:
            click.echo(f"{target.name} shutting down")
            continue
        deadline = time.monotonic() + limit
        while target.refresh().state != 3:
            if time.monotonic() > deadline:
                raise CommandFailure(f"vm shutdown {name!r}: still {state_name(target.state)} after {limit:g} s")
            time.sleep(0.2)
        click.echo(target.guid if session.quiet else f"{target.name} shut down")

