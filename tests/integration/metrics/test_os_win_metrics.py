"""os-win's MetricsUtils against the server, step by step as it calls
Hyper-V: cache the definitions by ElementName, enable collection for a
VM's disks and its CPU and memory metrics, then read CPU, memory, disk,
disk latency and IOPS figures through Msvm_MetricForME; reset restarts
the window, disable removes the values, ControlMetricsByClass meters every
VM, and collection survives a restart."""

from __future__ import annotations

import pytest
from pywbem import CIMClassName, CIMError, Uint16

from tests.integration.metrics.guest import metered_vm, wait_until
from tests.integration.model.hyperv import NS, request_state
from tests.integration.model.test_os_win_scenario import vssd_path
from tests.support.live import in_process_server

CPU, MEMORY = "Aggregated Average CPU Utilization", "Aggregated Average Memory Utilization"
READ, WRITTEN = "Disk Data Read", "Disk Data Written"
LATENCY, IOPS = "Average Disk Latency", "Average Normalized Disk Throughput"
NET_IN, NET_OUT = "Filtered Incoming Network Traffic", "Filtered Outgoing Network Traffic"


class MetricsUtils:
    """The calls os-win's os_win/utils/metrics/metricsutils.py makes."""

    def __init__(self, conn) -> None:
        self.conn = conn
        self.defs = {d["ElementName"]: d for d in conn.EnumerateInstances("CIM_BaseMetricDefinition")}
        self.service = conn.EnumerateInstanceNames("Msvm_MetricService")[0]

    def vm(self, name):
        found = [v for v in self.conn.EnumerateInstances("Msvm_ComputerSystem") if v["ElementName"] == name]
        assert len(found) == 1
        return found[0]

    def resources(self, name, classname):
        return self.conn.Associators(vssd_path(self.conn, self.vm(name).path), ResultClass=classname)

    def control(self, subject, definition, operation: int) -> int:
        code, _ = self.conn.InvokeMethod("ControlMetrics", self.service, Subject=subject, Definition=definition,
                                         MetricCollectionEnabled=Uint16(operation))
        return int(code)

    def enable_vm_metrics_collection(self, name) -> None:
        for disk in self.resources(name, "Msvm_StorageAllocationSettingData"):
            assert self.control(disk.path, None, 2) == 0
        for metric in (CPU, MEMORY):
            assert self.control(self.vm(name).path, self.defs[metric].path, 2) == 0

    def enable_port_metrics_collection(self, port) -> None:
        # os-win finds the port by the unique name Nova gave it; these
        # ports share theirs, so the test hands over the port itself.
        for metric in (NET_IN, NET_OUT):
            assert self.control(port.path, self.defs[metric].path, 2) == 0

    def get_vnic_metrics(self, name):
        """Traffic through the port's metering ACLs, found by InstanceID prefix."""
        vnics = self.resources(name, "Msvm_SyntheticEthernetPortSettingData")
        for port in self.resources(name, "Msvm_EthernetPortAllocationSettingData"):
            # Parent is the adapter's WMI path, where a backslash is written twice.
            vnic = [v for v in vnics if v["InstanceID"].replace("\\", "\\\\") in port["Parent"]][0]
            acls = self.conn.ExecQuery("WQL", "SELECT * FROM Msvm_EthernetSwitchPortAclSettingData "
                                              f"WHERE InstanceID LIKE '{port['InstanceID']}%'")
            values = []
            for acl in acls:
                found = [self.conn.GetInstance(r["Dependent"]) for r in self.conn.References(acl.path, ResultClass="Msvm_MetricForME")]
                found = [v for v in found if v.classname == "Msvm_BaseMetricValue"]
                if found:
                    values.append(found[0])
            rx, tx = (sum(int(v["MetricValue"]) for v in values if v["MetricDefinitionId"] == self.defs[n]["Id"]) for n in (NET_IN, NET_OUT))
            yield {"rx_mb": rx, "tx_mb": tx, "element_name": vnic["ElementName"], "address": vnic["Address"], "acls": acls}

    def values(self, element, *names) -> list[int]:
        metrics = self.conn.Associators(element, AssocClass="Msvm_MetricForME")
        return [sum(int(m["MetricValue"]) for m in metrics if m["MetricDefinitionId"] == self.defs[n]["Id"]) for n in names]

    def get_cpu_metrics(self, name):
        vm = self.vm(name)
        cpu = self.resources(name, "Msvm_ProcessorSettingData")[0]
        return self.values(vm.path, CPU)[0], int(cpu["VirtualQuantity"]), int(vm["OnTimeInMilliseconds"])

    def get_memory_metrics(self, name) -> int:
        return self.values(self.vm(name).path, MEMORY)[0]

    def get_disk_metrics(self, name):
        for disk in self.resources(name, "Msvm_StorageAllocationSettingData"):
            read, written = self.values(disk.path, READ, WRITTEN)
            yield {"read_mb": read, "write_mb": written, "instance_id": disk["InstanceID"], "host_resource": disk["HostResource"][0]}

    def get_disk_latency_metrics(self, name):
        return [self.values(d.path, LATENCY)[0] for d in self.resources(name, "Msvm_StorageAllocationSettingData")]

    def get_disk_iops_count(self, name):
        return [self.values(d.path, IOPS)[0] for d in self.resources(name, "Msvm_StorageAllocationSettingData")]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with in_process_server(tmp_path_factory.mktemp("metering"), metrics_interval_seconds=0.2) as live:
        yield live


@pytest.fixture
def conn(server):
    return server.connection(NS)


def test_definitions_carry_hyper_vs_names(conn):
    utils = MetricsUtils(conn)
    assert {CPU, MEMORY, READ, WRITTEN, LATENCY, IOPS, NET_IN, NET_OUT} <= set(utils.defs)
    assert utils.defs[CPU].classname == "Msvm_AggregationMetricDefinition" and utils.defs[CPU]["Units"] == "MHz"
    assert utils.defs[NET_IN].classname == "Msvm_BaseMetricDefinition"
    assert len({d["Id"] for d in utils.defs.values()}) == len(utils.defs)


def test_os_win_meters_a_working_vm(conn):
    utils = MetricsUtils(conn)
    vm = metered_vm(conn, "metered")
    assert utils.get_cpu_metrics("metered")[0] == 0  # nothing metered yet: no values
    assert conn.Associators(vm, AssocClass="Msvm_MetricForME") == []
    utils.enable_vm_metrics_collection("metered")
    assert request_state(conn, vm, 2)[0] in (0, 4096)
    wait_until("CPU is metered", lambda: utils.get_cpu_metrics("metered")[0] > 0)
    cpu_mhz, vcpus, on_time = utils.get_cpu_metrics("metered")
    assert vcpus >= 1 and on_time > 0
    assert cpu_mhz <= vcpus * 2400  # MHz of the VM's processors at 2.4 GHz
    wait_until("memory is metered", lambda: utils.get_memory_metrics("metered") > 0)
    disks = wait_until("a megabyte was read and written",
                       lambda: (d := list(utils.get_disk_metrics("metered"))) and d[0]["read_mb"] > 0 and d[0]["write_mb"] > 0 and d)
    assert disks[0]["host_resource"].endswith("metered.vhdx")
    assert utils.get_disk_latency_metrics("metered")[0] > 0
    assert utils.get_disk_iops_count("metered")[0] > 0
    # Network traffic is metered on the adapter's switch connection.
    port = utils.resources("metered", "Msvm_EthernetPortAllocationSettingData")[0]
    assert utils.values(port.path, NET_IN) == [0]  # not asked for: no values
    utils.enable_port_metrics_collection(port)
    wait_until("traffic is metered", lambda: utils.values(port.path, NET_IN)[0] > 0)
    # The VM's own values add up its devices.
    assert utils.values(vm, READ)[0] >= disks[0]["read_mb"]


def test_reset_restarts_the_window_and_disable_removes_the_values(conn):
    utils = MetricsUtils(conn)
    vm = utils.vm("metered").path
    before = next(v for v in conn.Associators(vm, AssocClass="Msvm_MetricForME") if v["ElementName"] == READ)
    assert utils.control(vm, None, 4) == 0
    after = next(v for v in conn.Associators(vm, AssocClass="Msvm_MetricForME") if v["ElementName"] == READ)
    assert after["AggregationTimeStamp"].datetime > before["AggregationTimeStamp"].datetime
    assert int(after["MetricValue"]) < int(before["MetricValue"])
    assert after["AggregationDuration"].timedelta < before["AggregationDuration"].timedelta
    # From the definition to its values and back to the element.
    values = conn.AssociatorNames(utils.defs[READ].path, AssocClass="Msvm_MetricInstance")
    assert any(v["InstanceId"] == after["InstanceId"] for v in values)
    measurable = conn.AssociatorNames(vm, AssocClass="Msvm_MetricDefForME")
    assert {d["Id"] for d in measurable} == {d["Id"] for d in utils.defs.values()}
    assert utils.control(vm, None, 3) == 0
    assert conn.Associators(vm, AssocClass="Msvm_MetricForME") == []


def test_os_win_reads_vnic_traffic_through_the_metering_acls(conn):
    utils = MetricsUtils(conn)
    vm = metered_vm(conn, "metered-vnic")
    assert request_state(conn, vm, 2)[0] in (0, 4096)
    port = utils.resources("metered-vnic", "Msvm_EthernetPortAllocationSettingData")[0]
    assert [m["acls"] for m in utils.get_vnic_metrics("metered-vnic")] == [[]]  # not metered: no metering ACLs
    utils.enable_port_metrics_collection(port)
    vnic = wait_until("traffic is metered", lambda: (m := next(utils.get_vnic_metrics("metered-vnic"))) and m["rx_mb"] > 0 and m["tx_mb"] > 0 and m)
    assert vnic["element_name"] == "Network Adapter" and vnic["address"]
    acls = vnic["acls"]
    assert sorted((int(a["Direction"]), int(a["AclType"]), a["RemoteAddress"]) for a in acls) == [
        (1, 2, "0.0.0.0"), (1, 3, "::"), (2, 2, "0.0.0.0"), (2, 3, "::")]
    assert {int(a["Action"]) for a in acls} == {3}  # Meter
    assert all(a["InstanceID"].startswith(port["InstanceID"] + "\\") for a in acls)
    assert conn.GetInstance(acls[0].path)["InstanceID"] == acls[0]["InstanceID"]
    # The ACLs add up to the port's own figures (read in the same breath).
    rx, tx = utils.values(port.path, NET_IN, NET_OUT)
    again = next(utils.get_vnic_metrics("metered-vnic"))
    assert rx - 1 <= again["rx_mb"] <= rx + 1 and tx - 1 <= again["tx_mb"] <= tx + 1
    assert utils.control(port.path, utils.defs[NET_IN].path, 3) == 0 and utils.control(port.path, utils.defs[NET_OUT].path, 3) == 0
    assert [m["acls"] for m in utils.get_vnic_metrics("metered-vnic")] == [[]]


def test_one_definition_is_enabled_reset_and_disabled_alone(conn):
    utils = MetricsUtils(conn)
    vm = metered_vm(conn, "metered-per-definition")
    assert request_state(conn, vm, 2)[0] in (0, 4096)
    disk = utils.resources("metered-per-definition", "Msvm_StorageAllocationSettingData")[0].path

    def metered(element) -> dict:
        return {v["ElementName"]: v for v in conn.Associators(element, AssocClass="Msvm_MetricForME")}

    assert utils.control(vm, utils.defs[CPU].path, 2) == 0
    assert set(metered(vm)) == {CPU}
    assert metered(disk) == {}
    assert utils.control(disk, utils.defs[READ].path, 2) == 0
    assert set(metered(vm)) == {CPU, READ} and set(metered(disk)) == {READ}
    wait_until("data is read", lambda: int(metered(vm)[READ]["MetricValue"]) > 0)
    before = metered(vm)
    assert utils.control(vm, utils.defs[READ].path, 4) == 0
    after = metered(vm)
    assert after[READ]["AggregationTimeStamp"].datetime > before[READ]["AggregationTimeStamp"].datetime
    assert int(after[READ]["MetricValue"]) < int(before[READ]["MetricValue"])
    assert after[CPU]["AggregationTimeStamp"] == before[CPU]["AggregationTimeStamp"]  # the other metric kept its window
    assert utils.control(vm, utils.defs[CPU].path, 3) == 0
    assert set(metered(vm)) == {READ}
    with pytest.raises(CIMError) as wrong:
        utils.control(disk, utils.defs[CPU].path, 2)  # a disk has no CPU
    assert wrong.value.status_code == 4 and "does not measure a virtual hard disk" in wrong.value.status_description
    # The definition as the subject: that metric for every VM.
    code, _ = conn.InvokeMethod("ControlMetrics", utils.service, Subject=utils.defs[MEMORY].path, MetricCollectionEnabled=Uint16(2))
    assert int(code) == 0 and set(metered(vm)) == {READ, MEMORY}
    assert utils.control(vm, None, 3) == 0 and metered(vm) == {}


def test_control_by_class_and_refusals(conn):
    utils = MetricsUtils(conn)
    other = metered_vm(conn, "metered-by-class")
    code, _ = conn.InvokeMethod("ControlMetricsByClass", utils.service, Subject=CIMClassName("Msvm_ComputerSystem", namespace=NS),
                                Definition=None, MetricCollectionEnabled=Uint16(2))
    assert int(code) == 0
    assert conn.Associators(other, AssocClass="Msvm_MetricForME") != []
    with pytest.raises(CIMError) as bad:
        utils.control(other, None, 7)
    assert bad.value.status_code == 4
    assert bad.value.status_description == "MetricCollectionEnabled 7: give 2 (enable), 3 (disable) or 4 (reset)"
    gone = other.copy()
    gone["Name"] = "00000000-0000-0000-0000-000000000001"
    with pytest.raises(CIMError) as missing:
        utils.control(gone, None, 2)
    assert missing.value.status_code == 6


def test_collection_survives_a_restart(tmp_path):
    with in_process_server(tmp_path, metrics_interval_seconds=0.2) as live:
        conn = live.connection(NS)
        vm = metered_vm(conn, "kept")
        utils = MetricsUtils(conn)
        utils.enable_vm_metrics_collection("kept")
        started = next(v for v in conn.Associators(vm, AssocClass="Msvm_MetricForME") if v["ElementName"] == CPU)
    with in_process_server(tmp_path, metrics_interval_seconds=0.2) as live:
        conn = live.connection(NS)
        kept = next(v for v in conn.Associators(vm, AssocClass="Msvm_MetricForME") if v["ElementName"] == CPU)
        assert kept["AggregationTimeStamp"] == started["AggregationTimeStamp"]

