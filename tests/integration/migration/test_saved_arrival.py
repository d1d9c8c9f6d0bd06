"""A saved VM appears on the destination only as Saved: a listener
subscribed there receives its creation, Saved, and no change until a
client starts it; a client reading it all along, and the web console's
VM list (its event stream), see no other state. The
KVM counterpart (where the destination restores and saves the memory
image again) is tests/backends/kvm/test_qemu_saved_arrival.py."""

from __future__ import annotations

import http.client
import re
import socket
import threading
from pathlib import Path
from urllib.parse import urlencode

import pywbem

from cimprovider.indications.listener import IndicationStream, watch_indications
from tests.integration.migration.two_hosts import ADMIN, migrate, source_and_destination, vm_with_new_disk
from tests.integration.model.hyperv import request_state, settings_of, state
from tests.integration.migration.two_hosts import wait_until
from tests.support.waiting import DEADLINE

SAVED, RUNNING = 6, 2


class Reader(threading.Thread):
    """Reads the VM on the destination over and over, as a console would,
    keeping each EnabledState it saw (none while the VM is not there)."""

    def __init__(self, conn: pywbem.WBEMConnection, vm: pywbem.CIMInstanceName) -> None:
        super().__init__(daemon=True)
        self.conn, self.vm = conn, vm
        self.seen: set[int] = set()
        self.errors: list[str] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self.seen.add(int(self.conn.GetInstance(self.vm, PropertyList=["EnabledState"])["EnabledState"]))
            except pywbem.CIMError as error:
                if error.status_code != 6:  # not found: not there yet
                    self.errors.append(str(error))


class ConsoleRows(threading.Thread):
    """The web console's event stream, as a browser showing the VM list
    follows it (signed in as `creds`): the state of each row sent for the VM."""

    def __init__(self, port: int, creds: tuple[str, str], vm: pywbem.CIMInstanceName) -> None:
        super().__init__(daemon=True)
        self.states: list[str] = []
        self._row = re.compile(rf'id="vm-{vm["Name"]}" data-state="([^"]+)"', re.IGNORECASE)
        login = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        login.request("POST", "/ui/login", urlencode({"user": creds[0], "password": creds[1], "next": "/ui/vms"}),
                      {"Content-Type": "application/x-www-form-urlencoded", "Origin": f"http://127.0.0.1:{port}"})
        answer = login.getresponse()
        assert answer.status == 303, answer.read()
        cookie = answer.getheader("set-cookie").split(";")[0]
        login.close()
        self._stream = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self._stream.request("GET", "/ui/events", headers={"Cookie": cookie})
        self._response = self._stream.getresponse()
        assert self._response.status == 200
        assert self._response.readline() == b"retry: 1000\n"  # subscribed to the bus by now

    def run(self) -> None:
        try:
            for line in iter(self._response.readline, b""):
                if (match := self._row.search(line.decode())) is not None:
                    self.states.append(match.group(1))
        except (OSError, ValueError, AttributeError):
            return  # closed under it

    def until_started(self) -> list[str]:
        """The rows' states before the first that shows the VM started."""
        wait_until(lambda: "Running" in self.states, "a Running row streamed", timeout=DEADLINE)
        self._stream.sock.shutdown(socket.SHUT_RDWR)  # ends the reader's wait at once (close would wait for it)
        self._stream.close()
        return self.states[:min(self.states.index(s) for s in ("Starting", "Running") if s in self.states)]


def vm_query(vm: pywbem.CIMInstanceName) -> str:
    return f"SELECT * FROM CIM_InstIndication WHERE SourceInstance ISA Msvm_ComputerSystem AND SourceInstance.Name = '{vm['Name']}'"


def arrival_until_started(stream: IndicationStream, conn: pywbem.WBEMConnection, vm: pywbem.CIMInstanceName) -> list[tuple[str, int]]:
    """Start the VM on the destination and return (class, EnabledState) of
    every indication before the one of that start: indications keep their
    order, so those are all the arrival raised."""
    assert request_state(conn, vm, RUNNING)[0] in (0, 4096)
    received: list[pywbem.CIMInstance] = []
    while not (received and _leaves_saved(received[-1])):
        received += stream.collect(1, timeout=DEADLINE)
    return [(i.classname, int(i["SourceInstance"]["EnabledState"])) for i in received[:-1]]


def _leaves_saved(indication: pywbem.CIMInstance) -> bool:
    return (indication.classname == "CIM_InstModification"
            and int(indication["PreviousInstance"]["EnabledState"]) == SAVED
            and int(indication["SourceInstance"]["EnabledState"]) != SAVED)


def test_a_saved_vm_is_only_ever_saved_on_the_destination(tmp_path: Path):
    with source_and_destination(tmp_path) as (a, b):
        vm, _ = vm_with_new_disk(a, "saved", "saved-vm")
        assert request_state(a.conn, vm, RUNNING)[0] == 4096
        assert request_state(a.conn, vm, SAVED)[0] == 4096 and state(a.conn, vm) == SAVED
        sasd = next(d for d in settings_of(a.conn, "Msvm_StorageAllocationSettingData", vm)
                    if d["ResourceSubType"] == "Microsoft:Hyper-V:Virtual Hard Disk")
        sasd["HostResource"] = [str(b.root / "saved" / "saved.vhd")]
        with watch_indications(b.live.connection(creds=ADMIN), vm_query(vm)) as stream:
            rows = ConsoleRows(b.live.port, ADMIN, vm)
            rows.start()
            reader = Reader(b.conn, vm)
            reader.start()
            try:
                job = migrate(a.conn, vm, "hostb", resources=[sasd])
            finally:
                reader.stop.set()
                reader.join(timeout=DEADLINE)
            assert job["JobState"] == 7, job["ErrorDescription"]
            assert not reader.errors, reader.errors
            assert reader.seen == {SAVED}, f"the destination showed the arriving VM in states {sorted(reader.seen)}"
            assert arrival_until_started(stream, b.conn, vm) == [("CIM_InstCreation", SAVED)]
            assert set(rows.until_started()) == {"Saved"}, rows.states
