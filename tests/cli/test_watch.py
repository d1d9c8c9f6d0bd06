"""`watch`: it subscribes, prints each indication as it arrives, and leaves
no filter, destination or subscription behind — after --count, and on
Ctrl-C; and a real VM started through the CLI while another CLI watches."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading

import pytest
from click.testing import CliRunner
from pywbem import CIMInstance, CIMInstanceName, Uint16

from cimprovider.cli.main import cli
from cimprovider.indications import ChangeKind, InstanceChange
from tests.cli.conftest import REPO, client_env
from tests.support.live import in_process_server
from tests.support.waiting import DEADLINE, PipeLines, wait_until

V2 = "root/virtualization/v2"
OWNED = ("CIM_IndicationSubscription", "CIM_IndicationFilter", "CIM_ListenerDestinationCIMXML")


@pytest.fixture(scope="module")
def indications(tmp_path_factory):
    captured = {}

    def capture(registry, catalog, parts) -> None:
        captured["service"] = parts.indications

    with in_process_server(tmp_path_factory.mktemp("watch"), [capture]) as live:
        yield live, captured["service"]


def vm(state: int) -> CIMInstance:
    keys = {"CreationClassName": "Msvm_ComputerSystem", "Name": "W"}
    return CIMInstance("Msvm_ComputerSystem", properties={**keys, "ElementName": "watched", "EnabledState": Uint16(state)},
                       path=CIMInstanceName("Msvm_ComputerSystem", keybindings=keys, namespace=V2))


def subscriptions(live) -> dict[str, int]:
    conn = live.connection("root/interop")
    return {name: len(conn.EnumerateInstanceNames(name)) for name in OWNED}


def wait_for_subscription(live) -> None:
    wait_until(lambda: subscriptions(live)["CIM_IndicationSubscription"], "watch's subscription")


def test_watch_prints_state_changes_and_unsubscribes(indications):
    live, service = indications
    before = subscriptions(live)

    def publish() -> None:
        wait_for_subscription(live)
        service.publish(InstanceChange(ChangeKind.MODIFIED, V2, vm(3), vm(3)))  # not a state change: filtered out
        service.publish(InstanceChange(ChangeKind.MODIFIED, V2, vm(10), vm(3)))
        service.publish(InstanceChange(ChangeKind.MODIFIED, V2, vm(2), vm(10)))

    threading.Thread(target=publish, daemon=True).start()
    env = {"CIMPROVIDER_SERVER": live.url, "CIMPROVIDER_CLIENT_CONFIG": os.devnull}
    result = CliRunner(mix_stderr=False).invoke(cli, ["watch", "--count", "2", "--duration", "60", "-o", "json"], env=env)
    assert result.exit_code == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(l["name"], l["previous_state"], l["state"]) for l in lines] == [("watched", "Off", "Starting"), ("watched", "Starting", "Running")]
    assert lines[0]["indication"] == "CIM_InstModification" and lines[0]["class"] == "Msvm_ComputerSystem"
    assert subscriptions(live) == before


def test_ctrl_c_ends_watch_and_removes_its_subscription(indications):
    # The change is published the moment watch says it is watching: a user
    # who acts on that line sees the first event, however busy the machine.
    live, service = indications
    before = subscriptions(live)
    process = subprocess.Popen([sys.executable, "-m", "cimprovider.cli", "watch"], cwd=REPO, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=client_env({"CIMPROVIDER_SERVER": live.url}))
    out, err = PipeLines(process.stdout), PipeLines(process.stderr)
    try:
        err.wait_for(r"^watching http://127\.0\.0\.1:\d+ \(Ctrl-C to stop\)$")
        service.publish(InstanceChange(ChangeKind.MODIFIED, V2, vm(9), vm(2)))
        out.wait_for(r"watched  Running -> Paused$")
        process.send_signal(signal.SIGINT)
        process.wait(timeout=DEADLINE)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130
    assert err.text().splitlines()[-1] == "cimprovider: interrupted"
    assert subscriptions(live) == before


def test_sigterm_ends_watch_and_removes_its_subscription(indications):
    live, _ = indications
    before = subscriptions(live)
    process = subprocess.Popen([sys.executable, "-m", "cimprovider.cli", "watch"], cwd=REPO, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=client_env({"CIMPROVIDER_SERVER": live.url}))
    err = PipeLines(process.stderr)
    try:
        err.wait_for(r"^watching ")
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=DEADLINE)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130
    assert err.text().splitlines()[-1] == "cimprovider: interrupted"
    assert subscriptions(live) == before


def test_watch_sees_a_vm_started_through_the_model(indications):
    live, _ = indications
    env = {"CIMPROVIDER_SERVER": live.url, "CIMPROVIDER_CLIENT_CONFIG": os.devnull}
    runner = CliRunner(mix_stderr=False)
    assert runner.invoke(cli, ["vm", "new", "really-watched"], env=env).exit_code == 0

    def start() -> None:
        # Another client starts the VM (CliRunner captures the process's
        # streams, so a second one cannot run beside the watch).
        wait_for_subscription(live)
        conn = live.connection(V2)
        (vm_path,) = [p for p in conn.EnumerateInstanceNames("Msvm_ComputerSystem")
                      if conn.GetInstance(p)["ElementName"] == "really-watched"]
        conn.InvokeMethod("RequestStateChange", vm_path, RequestedState=Uint16(2))

    threading.Thread(target=start, daemon=True).start()
    result = runner.invoke(cli, ["watch", "--count", "2", "--duration", "60", "-o", "json"], env=env)
    assert result.exit_code == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(l["name"], l["previous_state"], l["state"]) for l in lines] == [
        ("really-watched", "Off", "Starting"),
        ("really-watched", "Starting", "Running"),
    ]
