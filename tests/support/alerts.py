"""Two subscriptions to CIM_AlertIndication on a live server, one with a
DMTF CQL filter and one with a WQL filter, each with its own listener, as
a monitoring client would set them up with pywbem."""

from __future__ import annotations

import contextlib
import queue
import time
from collections.abc import Callable, Iterator

from pywbem import CIMInstance, WBEMServer, WBEMSubscriptionManager

from cimprovider.indications.listener import IndicationStream, listening

NS = "root/virtualization/v2"

FILTERS = (
    ("dmtf", "SELECT * FROM CIM_AlertIndication", "DMTF:CQL"),
    ("wmi", "SELECT * FROM CIM_AlertIndication WHERE PerceivedSeverity >= 2", "WQL"),
)


@contextlib.contextmanager
def alert_streams(server) -> Iterator[dict[str, IndicationStream]]:
    with subscribed_streams(server, FILTERS, "health-alerts") as streams:
        yield streams


@contextlib.contextmanager
def subscribed_streams(server, filters: tuple[tuple[str, str, str], ...], manager_id: str) -> Iterator[dict[str, IndicationStream]]:
    """A listener per (tag, query, language) filter, each subscribed to its
    filter on the live server; by tag."""
    manager = WBEMSubscriptionManager(manager_id)
    server_id = manager.add_server(WBEMServer(server.connection()))
    try:
        with contextlib.ExitStack() as stack:
            streams = {tag: stack.enter_context(listening()) for tag, _query, _language in filters}
            for tag, query, language in filters:
                destination = manager.add_destination(server_id, streams[tag].listener_url, owned=True, destination_id=tag)
                flt = manager.add_filter(server_id, [NS], query, language, owned=True, filter_id=tag)
                manager.add_subscriptions(server_id, flt.path, [destination.path], owned=True)
            yield streams
    finally:
        manager.remove_server(server_id)


def next_alert(stream: IndicationStream, wanted: Callable[[CIMInstance], bool], timeout: float = 60) -> CIMInstance:
    """The first alert `wanted` accepts; others (another test's VM) are passed over."""
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        assert remaining > 0, "the alert did not arrive"
        try:
            alert = stream.get(timeout=remaining)
        except queue.Empty:
            raise AssertionError(f"the alert did not arrive within {timeout} s") from None
        if alert.classname == "CIM_AlertIndication" and wanted(alert):
            return alert


def about(element: str, classname: str = "Msvm_ComputerSystem") -> Callable[[CIMInstance], bool]:
    """Alerts about the element of that class whose Name (or SystemName) is
    `element` — not about one whose keys merely name it."""
    return lambda alert: (f'name="{element.lower()}"' in alert["AlertingManagedElement"].lower()
                          and f":{classname}." in alert["AlertingManagedElement"])


def heartbeat_alerts(streams: dict[str, IndicationStream], vm_name: str) -> tuple[CIMInstance, CIMInstance]:
    """The next alert about the VM (on the DMTF subscription), and about its
    heartbeat component (on the WQL one)."""
    return (next_alert(streams["dmtf"], about(vm_name)),
            next_alert(streams["wmi"], about(vm_name, "Msvm_HeartbeatComponent")))


def assert_lost_then_cleared(sick: CIMInstance, lost: CIMInstance, component_lost: CIMInstance,
                             back: CIMInstance, component_back: CIMInstance) -> None:
    """A running VM whose heartbeat was lost: it read Major Failure / Lost
    Communication, saying why; the alerts about it and its heartbeat
    component were Major, Loss of Signal; those after it came back,
    Information, Previous Alert Cleared."""
    assert (sick["EnabledState"], sick["HealthState"], list(sick["OperationalStatus"])) == (2, 20, [13])
    assert "heartbeat is lost" in sick["StatusDescriptions"][0]
    assert (lost["PerceivedSeverity"], lost["ProbableCause"]) == (5, 30)
    assert (component_lost["PerceivedSeverity"], component_lost["ProbableCause"]) == (5, 30)
    assert (back["PerceivedSeverity"], back["ProbableCause"]) == (2, 59)
    assert (component_back["PerceivedSeverity"], component_back["ProbableCause"]) == (2, 59)


def wait_until(what: str, check: Callable[[], object], timeout: float = 60) -> object:
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, f"{what}: still not so after {timeout} s"
        time.sleep(0.1)
    return found
