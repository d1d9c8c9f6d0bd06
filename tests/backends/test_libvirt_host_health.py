"""An unreachable hypervisor, as an operations team sees it: when the
libvirt backend loses its connection (libvirt's close callback, as libvirt
calls it on EOF) the host reads Major Failure / Lost Communication and a
CIM_AlertIndication about the host reaches the subscribers; when the
backend reconnects, the host is OK again and a second alert says so."""

from __future__ import annotations

import libvirt

from libvirt_harness import sampled_server
from tests.support.alerts import NS, about, alert_streams, next_alert


def test_an_unreachable_hypervisor_is_a_host_alert(tmp_path) -> None:
    with sampled_server(tmp_path) as (live, backend):
        conn = live.connection(NS)
        host = next(s for s in conn.EnumerateInstances("Msvm_ComputerSystem") if s["Caption"] == "Hosting Computer System")
        assert host["HealthState"] == 5
        with alert_streams(live) as streams:
            connection = backend._connection
            connection._closed_by_libvirt(connection.get(), libvirt.VIR_CONNECT_CLOSE_REASON_EOF, None)
            lost = {tag: next_alert(stream, about(host["Name"])) for tag, stream in streams.items()}
            back = {tag: next_alert(stream, about(host["Name"])) for tag, stream in streams.items()}
        again = conn.GetInstance(host.path)
    for tag in streams:
        assert (lost[tag]["PerceivedSeverity"], lost[tag]["ProbableCause"]) == (5, 57)  # Major, Underlying Resource Unavailable
        assert lost[tag]["Description"] == (f"Host {host['Name']}: The hypervisor is unreachable: "
                                            "lost the connection to test:///default; reconnecting")
        assert (back[tag]["PerceivedSeverity"], back[tag]["ProbableCause"]) == (2, 59)
        assert "is healthy again" in back[tag]["Description"]
    assert (again["HealthState"], again["OperationalStatus"]) == (5, [2])
