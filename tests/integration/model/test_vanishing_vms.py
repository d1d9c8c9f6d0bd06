"""VMs defined and destroyed while other clients enumerate, associate and
pull: a VM that vanishes during an enumeration is simply not returned, and
a VM asked for by path after it vanished is CIM_ERR_NOT_FOUND — never an
internal error. Bounded: the churners run a fixed number of lifecycles and
the readers stop when they are done."""

from __future__ import annotations

import random
import threading
import traceback

import pywbem
from pywbem import CIM_ERR_NOT_FOUND, CIMError, CIMInstance, Uint16

from tests.integration.model.hyperv import NS, check, define_vm, service, template, wait_job
from tests.support.live import LiveServer, in_process_server

LIFECYCLES = 20  # per churner
CHURNERS = 2
READERS = 6


def lifecycle(conn: pywbem.WBEMConnection, name: str) -> None:
    """Define a VM with a NIC, run it, stop it, destroy it."""
    vm = define_vm(conn, name)
    vssd = conn.AssociatorNames(vm, AssocClass="Msvm_SettingsDefineState")[0]
    nic = template(conn, "Msvm_SyntheticEthernetPortSettingData")
    check(conn, conn.InvokeMethod("AddResourceSettings", service(conn), AffectedConfiguration=vssd, ResourceSettings=[nic.tocimxmlstr()]))
    for requested in (2, 3):
        code, out = conn.InvokeMethod("RequestStateChange", vm, RequestedState=Uint16(requested))
        assert int(code) == 4096, code
        assert wait_job(conn, out["Job"], timeout=60)["JobState"] == 7
    check(conn, conn.InvokeMethod("DestroySystem", service(conn), AffectedSystem=vm))


def served_classes(conn: pywbem.WBEMConnection) -> list[str]:
    """Every class of the namespace that has instances while a VM runs."""
    found = []
    for classname in conn.EnumerateClassNames(DeepInheritance=True):
        try:
            if conn.EnumerateInstanceNames(classname):
                found.append(classname)
        except CIMError:
            continue
    return found


def read_once(conn: pywbem.WBEMConnection, classes: list[str], rng: random.Random, doing: list[str]) -> None:
    """One of the reads a monitoring client makes while VMs come and go;
    `doing` says which, for the report."""
    kind = rng.randrange(6)
    classname = rng.choice(classes)
    doing[:] = [f"read {kind} of {classname}"]
    if kind == 0:
        conn.EnumerateInstances(classname)
    elif kind == 1:
        conn.EnumerateInstanceNames(classname)
    elif kind == 2:
        # Small pulls keep the enumeration open while VMs vanish under it.
        result = conn.OpenEnumerateInstances(classname, MaxObjectCount=2)
        while not result.eos:
            result = conn.PullInstancesWithPath(result.context, MaxObjectCount=2)
    elif kind == 3:
        conn.Associators(conn.EnumerateInstanceNames("Msvm_VirtualSystemManagementService")[0])
    elif kind == 4:
        conn.GetInstance(conn.EnumerateInstanceNames("Msvm_VirtualSystemManagementService")[0])
        conn.InvokeMethod("GetSummaryInformation", service(conn), RequestedInformation=[Uint16(i) for i in (1, 4, 101, 103, 112)])
    else:
        for vm in conn.EnumerateInstanceNames("Msvm_ComputerSystem"):
            try:  # the VM may be gone by now: then, and only then, not found
                conn.Associators(vm)
                conn.References(vm)
                conn.GetInstance(vm)
            except CIMError as error:
                if error.status_code != CIM_ERR_NOT_FOUND:
                    raise


def test_vms_vanishing_under_enumerations(tmp_path):
    with in_process_server(tmp_path, worker_threads=16) as live:
        setup = live.connection(NS)
        witness = define_vm(setup, "witness")
        assert check(setup, setup.InvokeMethod("RequestStateChange", witness, RequestedState=Uint16(2))) is not None
        classes = served_classes(setup)
        assert "Msvm_ComputerSystem" in classes and len(classes) > 20
        errors, reads = churn_and_read(live, classes)
    assert reads[0] > READERS
    assert errors == [], "\n".join(errors)


def churn_and_read(live: LiveServer, classes: list[str]) -> tuple[list[str], list[int]]:
    errors: list[str] = []
    reads = [0]
    churning = threading.Event()
    churning.set()
    lock = threading.Lock()

    def churner(index: int) -> None:
        conn = live.connection(NS)
        try:
            for round_ in range(LIFECYCLES):
                lifecycle(conn, f"churn-{index}-{round_}")
        except Exception:  # noqa: BLE001 - reported below
            with lock:
                errors.append("churner: " + traceback.format_exc(limit=3))

    def reader(seed: int) -> None:
        conn = live.connection(NS)
        rng = random.Random(seed)
        doing: list[str] = []
        while churning.is_set():
            try:
                read_once(conn, classes, rng, doing)
            except Exception as error:  # noqa: BLE001 - every fault counts
                with lock:
                    errors.append(f"{doing}: {type(error).__name__}: {error}")
            with lock:
                reads[0] += 1

    churners = [threading.Thread(target=churner, args=(i,)) for i in range(CHURNERS)]
    readers = [threading.Thread(target=reader, args=(i,)) for i in range(READERS)]
    for thread in churners + readers:
        thread.start()
    for thread in churners:
        thread.join(timeout=600)
    churning.clear()
    for thread in readers:
        thread.join(timeout=120)
    return errors, reads


def test_pulls_opened_before_their_vms_were_destroyed(tmp_path):
    """The same race made certain: every class's enumeration (and the
    associators of the host and the service) is opened while three VMs
    exist, the VMs are destroyed, and then the enumerations are pulled to
    their end. One client holds them all at once, so its share of open
    enumerations is raised to the server's whole limit."""
    with in_process_server(tmp_path, max_pull_contexts_per_principal=256) as live:
        conn = live.connection(NS)
        vms = [define_vm(conn, f"doomed-{i}") for i in range(3)]
        for vm in vms:
            for requested in (2, 3):  # a VM that has run has runtime figures
                code, out = conn.InvokeMethod("RequestStateChange", vm, RequestedState=Uint16(requested))
                assert wait_job(conn, out["Job"], timeout=60)["JobState"] == 7
        classes = served_classes(conn)
        opened = {}
        for classname in classes:
            opened[classname] = conn.OpenEnumerateInstances(classname, MaxObjectCount=1)
        for name in ("Msvm_ComputerSystem", "Msvm_VirtualSystemManagementService"):
            origin = conn.EnumerateInstanceNames(name)[0]
            opened[f"associators of {name}"] = conn.OpenAssociatorInstances(origin, MaxObjectCount=1)
        host = conn.EnumerateInstanceNames("Msvm_ComputerSystem")[0]
        opened["the host's VMs"] = conn.OpenAssociatorInstances(host, AssocClass="Msvm_HostedDependency", MaxObjectCount=1)
        for vm in vms:
            check(conn, conn.InvokeMethod("DestroySystem", service(conn), AffectedSystem=vm))
        faults = {}
        for what, result in opened.items():
            try:
                while not result.eos:
                    result = conn.PullInstancesWithPath(result.context, MaxObjectCount=5)
            except CIMError as error:
                faults[what] = str(error)
        assert faults == {}
