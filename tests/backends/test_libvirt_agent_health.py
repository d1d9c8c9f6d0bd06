"""A guest whose agent goes away, on the libvirt backend: libvirt's agent
lifecycle event (delivered here as libvirt's event loop delivers it; the
test driver runs no agents) turns the running VM to Major Failure / Lost
Communication at the next sampling interval once the grace has passed and
raises CIM_AlertIndications about it and its heartbeat component (whose
read the test driver's fake agent answers; tier 2 reads it lost); the
agent's return is the all-clear. The watch itself: the grace, a reset and
a stop begin again with no agent."""

from __future__ import annotations

from uuid import UUID

from libvirt_harness import backend, harness, sampled_server  # noqa: F401 (fixtures)
from cimprovider.backends.libvirt import LibvirtBackend
from cimprovider.backends.libvirt.agent_ping import PING_TIMEOUT_SECONDS, AgentPings
from cimprovider.backends.libvirt.agents import CLOSED_BY_GUEST, CONNECTED, DISCONNECTED, GRACE_SECONDS, GUEST_STARTED, AgentWatch
from cimprovider.schemas import HeartbeatState, PowerState
from tests.support.alerts import NS, alert_streams, assert_lost_then_cleared, heartbeat_alerts


def test_an_agent_that_goes_away_is_a_lost_heartbeat_until_it_comes_back(tmp_path) -> None:
    with sampled_server(tmp_path) as (live, backend):
        conn = live.connection(NS)
        vm = next(s for s in conn.EnumerateInstances("Msvm_ComputerSystem") if s["ElementName"] == "test")
        assert (vm["EnabledState"], vm["HealthState"]) == (2, 5)
        connection = backend._connection
        domain = connection.get().lookupByName("test")
        with alert_streams(live) as streams:
            connection._agent_event(connection.get(), domain, DISCONNECTED, CLOSED_BY_GUEST, None)
            lost, component_lost = heartbeat_alerts(streams, vm["Name"])
            sick = conn.GetInstance(vm.path)
            connection._agent_event(connection.get(), domain, CONNECTED, CLOSED_BY_GUEST, None)
            back, component_back = heartbeat_alerts(streams, vm["Name"])
        healthy = conn.GetInstance(vm.path)
    assert_lost_then_cleared(sick, lost, component_lost, back, component_back)
    assert (healthy["HealthState"], list(healthy["OperationalStatus"])) == (5, [2])


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now



def test_the_watch_waits_out_the_grace_and_a_reset_or_a_stop_begins_again(backend: LibvirtBackend) -> None:
    vm = next(v for v in backend.list_vms() if v.power_state is PowerState.RUNNING)
    clock = Clock()
    watch = AgentWatch(clock)
    watch.on_event(vm.id, DISCONNECTED, CLOSED_BY_GUEST)
    assert watch.heartbeat(vm) is HeartbeatState.UNKNOWN  # a guest shutting down stops its agent first
    clock.now += GRACE_SECONDS
    assert watch.heartbeat(vm) is HeartbeatState.LOST_COMMUNICATION
    paused = vm.model_copy(update={"power_state": PowerState.PAUSED})
    assert watch.heartbeat(paused) is HeartbeatState.UNKNOWN
    assert watch.heartbeat(vm) is HeartbeatState.LOST_COMMUNICATION  # paused and resumed, still gone

    watch.on_event(vm.id, DISCONNECTED, GUEST_STARTED)  # a reset: booting, no agent yet
    clock.now += GRACE_SECONDS
    assert watch.heartbeat(vm) is HeartbeatState.UNKNOWN

    watch.on_event(vm.id, DISCONNECTED, CLOSED_BY_GUEST)
    clock.now += GRACE_SECONDS
    assert watch.heartbeat(vm.model_copy(update={"power_state": PowerState.OFF})) is HeartbeatState.UNKNOWN
    assert watch.heartbeat(vm) is HeartbeatState.UNKNOWN  # started again: a new run

    without = vm.model_copy(update={"integration_services": tuple(
        s.model_copy(update={"enabled": False}) if s.service.value == "heartbeat" else s for s in vm.integration_services)})
    watch.on_event(vm.id, DISCONNECTED, CLOSED_BY_GUEST)
    clock.now += GRACE_SECONDS
    assert watch.heartbeat(without) is HeartbeatState.UNKNOWN  # no heartbeat service, no heartbeat to lose
    assert watch.heartbeats({vm.id: vm}) == {vm.id: HeartbeatState.LOST_COMMUNICATION}
    assert watch.heartbeats({}) == {}
    assert watch.heartbeats({vm.id: vm}) == {vm.id: HeartbeatState.UNKNOWN}  # destroyed and defined again: forgotten


def test_pings_left_unanswered_past_the_grace_are_a_lost_heartbeat_until_one_is_answered(backend: LibvirtBackend) -> None:
    vm = next(v for v in backend.list_vms() if v.power_state is PowerState.RUNNING)
    clock = Clock()
    watch = AgentWatch(clock)
    watch.on_ping(vm.id, False)
    assert watch.heartbeat(vm) is HeartbeatState.UNKNOWN  # one slow answer is no failure yet
    clock.now += GRACE_SECONDS / 2
    watch.on_ping(vm.id, False)
    assert watch.heartbeat(vm) is HeartbeatState.UNKNOWN
    clock.now += GRACE_SECONDS / 2
    assert watch.heartbeat(vm) is HeartbeatState.LOST_COMMUNICATION  # silent since the first ping
    watch.on_ping(vm.id, True)
    assert watch.heartbeat(vm) is HeartbeatState.UNKNOWN

    watch.on_ping(vm.id, False)
    assert watch.heartbeat(vm.model_copy(update={"power_state": PowerState.PAUSED})) is HeartbeatState.UNKNOWN
    clock.now += GRACE_SECONDS
    assert watch.heartbeat(vm) is HeartbeatState.UNKNOWN  # a paused guest answers nothing: resumed, it starts afresh


def test_a_ping_refused_at_once_says_nothing_and_one_that_waited_its_timeout_is_unanswered(backend: LibvirtBackend) -> None:
    """libvirt's test driver has no agents: every ping is refused at once.
    Whether the refusal came at once or after the timeout is what counts."""
    vm = next(v for v in backend.list_vms() if v.power_state is PowerState.RUNNING)
    lookup = lambda vm_id: backend._conn().lookupByUUID(vm_id.bytes)  # noqa: E731
    for waited, expected in ((0, []), (PING_TIMEOUT_SECONDS, [(vm.id, False)])):
        found: list[tuple[UUID, bool]] = []
        ticks = iter((0.0, float(waited)))
        pings = AgentPings(lookup, lambda vm_id, answered: found.append((vm_id, answered)), clock=lambda: next(ticks))
        pings.ping([vm.id, vm.id])  # one ping at a time per VM: the second is not sent
        pings.close(wait=True)
        assert found == expected
