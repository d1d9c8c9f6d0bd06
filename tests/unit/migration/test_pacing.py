"""Bandwidth as Hyper-V gives it (Mbit/s) held by the sender between
chunks, and handed to the hypervisor in its whole MiB/s."""

from __future__ import annotations

import pytest

from cimprovider.jobs.job import CancelToken, JobCancelled
from cimprovider.migration.pacing import Pacer, mebibytes_per_second


class Clock:
    """Time that passes only when the sender waits (or the test says so)."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Waits(CancelToken):
    """Records each wait and lets that time pass on the clock."""

    def __init__(self, clock: Clock) -> None:
        super().__init__()
        self.clock = clock
        self.waited: list[float] = []

    def wait(self, seconds: float) -> bool:
        self.waited.append(round(seconds, 6))
        self.clock.now += seconds
        return self.cancelled


def test_chunks_wait_until_they_fit_the_rate():
    clock = Clock()
    token = Waits(clock)
    pace = Pacer(8, token, clock)  # 1,000,000 bytes a second
    pace(500_000)
    pace(500_000)
    assert token.waited == [0.5, 0.5]
    clock.now += 2.0  # the sender was slow on its own: no wait until it is ahead again
    pace(1_000_000)
    pace(1_500_000)
    assert token.waited == [0.5, 0.5, 0.5]
    assert clock.now == 103.5


def test_no_bandwidth_never_waits():
    clock = Clock()
    token = Waits(clock)
    pace = Pacer(0, token, clock)
    for _ in range(100):
        pace(1 << 20)
    assert token.waited == []


def test_a_cancel_stops_the_sender_in_its_wait_and_before_the_next_chunk():
    clock = Clock()
    token = Waits(clock)
    pace = Pacer(8, token, clock)
    pace(1_000)
    token.cancel()
    with pytest.raises(JobCancelled):
        pace(1_000_000)
    with pytest.raises(JobCancelled):
        Pacer(0, token, clock)(1)


@pytest.mark.parametrize(("megabits", "mebibytes"), [(0, 0), (8, 0), (9, 1), (100, 11), (1000, 119), (65535, 7812)])
def test_the_hypervisors_cap_is_never_faster_than_asked(megabits, mebibytes):
    assert mebibytes_per_second(megabits) == mebibytes
    assert mebibytes * 1024 * 1024 * 8 <= megabits * 1_000_000
