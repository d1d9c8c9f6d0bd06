import logging
import threading
from uuid import UUID, uuid4

import pytest

from cimprovider.events import EventBus
from cimprovider.schemas import KvpChanged, KvpItem, PowerState, PowerStateChanged
from cimprovider.schemas.events import EventBase

STATES = list(PowerState)


def power_event(vm_id: UUID, index: int) -> PowerStateChanged:
    return PowerStateChanged(vm_id=vm_id, old=STATES[index % 9], new=STATES[(index + 1) % 9])


def kvp_event() -> KvpChanged:
    return KvpChanged(vm_id=uuid4(), change="added", item=KvpItem(name="k"))


def test_every_subscriber_gets_every_event_in_order() -> None:
    bus = EventBus()
    first: list[EventBase] = []
    second: list[EventBase] = []
    bus.subscribe(first.append)
    bus.subscribe(second.append)
    events = [power_event(uuid4(), i) for i in range(5)]
    for event in events:
        bus.publish(event)
    assert first == events
    assert second == events


def test_a_throwing_subscriber_breaks_neither_the_publisher_nor_the_others(caplog: pytest.LogCaptureFixture) -> None:
    bus = EventBus()
    received: list[EventBase] = []

    def broken(event: EventBase) -> None:
        raise RuntimeError("cache exploded")

    failing = bus.subscribe(broken)
    bus.subscribe(received.append)
    with caplog.at_level(logging.ERROR):
        bus.publish(kvp_event())
        bus.publish(kvp_event())
    assert len(received) == 2
    assert failing.failures == 2
    assert "cache exploded" in caplog.text


def test_unsubscribe_stops_delivery_and_is_idempotent() -> None:
    bus = EventBus()
    received: list[EventBase] = []
    subscription = bus.subscribe(received.append)
    bus.publish(kvp_event())
    bus.unsubscribe(subscription)
    subscription.close()
    bus.publish(kvp_event())
    assert len(received) == 1
    assert bus.subscriber_count == 0


def test_a_subscription_used_as_a_context_manager_ends_with_the_block() -> None:
    bus = EventBus()
    with bus.subscribe_queue() as subscription:
        bus.publish(kvp_event())
    bus.publish(kvp_event())
    assert len(subscription.drain()) == 1


def test_kinds_filter_what_a_subscriber_sees() -> None:
    bus = EventBus()
    subscription = bus.subscribe_queue(kinds=[PowerStateChanged])
    bus.publish(kvp_event())
    bus.publish(power_event(uuid4(), 0))
    assert [type(event) for event in subscription.drain()] == [PowerStateChanged]


def test_a_full_bounded_queue_drops_instead_of_blocking() -> None:
    bus = EventBus()
    subscription = bus.subscribe_queue(maxsize=2)
    for _ in range(5):
        bus.publish(kvp_event())
    assert len(subscription.drain()) == 2
    assert subscription.dropped == 3


def test_a_subscriber_may_unsubscribe_itself_while_being_called() -> None:
    bus = EventBus()
    calls: list[EventBase] = []

    def once(event: EventBase) -> None:
        calls.append(event)
        bus.unsubscribe(subscription)

    subscription = bus.subscribe(once)
    bus.publish(kvp_event())
    bus.publish(kvp_event())
    assert len(calls) == 1


def test_order_per_publisher_holds_with_concurrent_publishers() -> None:
    bus = EventBus()
    subscription = bus.subscribe_queue()
    publishers = [uuid4() for _ in range(8)]

    def publish_many(vm_id: UUID) -> None:
        for index in range(200):
            bus.publish(power_event(vm_id, index))

    threads = [threading.Thread(target=publish_many, args=(vm_id,)) for vm_id in publishers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    events = subscription.drain()
    assert len(events) == 8 * 200
    for vm_id in publishers:
        mine = [(e.old, e.new) for e in events if isinstance(e, PowerStateChanged) and e.vm_id == vm_id]
        expected = [power_event(vm_id, index) for index in range(200)]
        assert mine == [(e.old, e.new) for e in expected]
