"""Migrations waiting for a slot start by Priority (High, then Unknown,
then Low), in the order they came within one priority."""

from __future__ import annotations

import threading
import time

from cimprovider.jobs import CancelToken
from cimprovider.migration.outgoing import Slots

LOW, UNKNOWN, HIGH = 1, 0, 2


def wait_for(condition, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"still not {what}"
        time.sleep(0.01)


def test_a_high_priority_migration_goes_before_those_waiting_longer():
    slots = Slots(lambda: 1)
    slots.acquire(CancelToken())  # the one migration running
    started: list[str] = []

    def migration(name: str, priority: int) -> None:
        slots.acquire(CancelToken(), priority)
        started.append(name)
        slots.release()

    threads = []
    for count, (name, priority) in enumerate((("low", LOW), ("unknown-1", UNKNOWN), ("unknown-2", UNKNOWN), ("high", HIGH)), 1):
        thread = threading.Thread(target=migration, args=(name, priority))
        thread.start()
        threads.append(thread)
        wait_for(lambda: slots.waiting == count, f"{name} waiting")
    slots.release()
    for thread in threads:
        thread.join(timeout=60)
    assert started == ["high", "unknown-1", "unknown-2", "low"]
    assert slots.active == 0


def test_a_cancelled_waiter_leaves_the_queue():
    slots = Slots(lambda: 1)
    slots.acquire(CancelToken())
    token = CancelToken()
    failed: list[BaseException] = []

    def waiter() -> None:
        try:
            slots.acquire(token, HIGH)
        except BaseException as error:  # noqa: BLE001 - the test reads it
            failed.append(error)

    thread = threading.Thread(target=waiter)
    thread.start()
    wait_for(lambda: slots.waiting == 1, "waiting")
    token.cancel()
    thread.join(timeout=60)
    assert failed and type(failed[0]).__name__ == "JobCancelled"
    assert slots.waiting == 0
    slots.release()
    slots.acquire(CancelToken(), LOW)  # nobody left ahead of it
    assert slots.active == 1
