"""Every class of both namespaces answers EnumerateInstances and
EnumerateInstanceNames without a server fault, with a running VM present:
a class is either served (its instances come back) or not (an empty answer
or CIM_ERR_NOT_SUPPORTED), never an internal error."""

from __future__ import annotations

import pytest
import pywbem
from pywbem import CIMError

from tests.integration.model.hyperv import NS, define_vm, request_state
from tests.support.live import in_process_server


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    with in_process_server(tmp_path_factory.mktemp("every-class")) as server:
        conn = server.connection(NS)
        vm = define_vm(conn, "enumerated")
        assert request_state(conn, vm, 2)[0] == 4096
        yield server


@pytest.mark.parametrize("namespace", [NS, "root/interop"])
def test_every_class_enumerates(live, namespace):
    conn = live.connection(namespace)
    faults = {}
    for classname in conn.EnumerateClassNames(DeepInheritance=True):
        try:
            instances = conn.EnumerateInstances(classname)
            names = conn.EnumerateInstanceNames(classname)
        except CIMError as error:
            if error.status_code != pywbem.CIM_ERR_NOT_SUPPORTED:
                faults[classname] = str(error)
            continue
        if len(instances) != len(names):
            faults[classname] = f"{len(instances)} instances but {len(names)} names"
    assert not faults, faults
