"""Holding a migration's data to the Bandwidth its settings give (Hyper-V's
Msvm_VirtualSystemMigrationSettingData.Bandwidth, in Mbit/s; 0 is no cap).

Files crossing the channel are paced by their bytes as read (compressed,
fewer cross the network): after each chunk the sender waits until the
bytes sent so far fit in the time spent at that rate. A live move on
KVM hands the cap to the hypervisor, which counts whole MiB/s."""

from __future__ import annotations

import time
from collections.abc import Callable

from cimprovider.jobs.job import CancelToken, JobCancelled

BITS_PER_MEGABIT = 1_000_000
BYTES_PER_MEBIBYTE = 1024 * 1024


def mebibytes_per_second(megabits: int) -> int:
    """The cap in the hypervisor's whole MiB/s, rounded down so that it is
    never faster than asked; 0 when the cap is below 1 MiB/s."""
    return megabits * BITS_PER_MEGABIT // (8 * BYTES_PER_MEBIBYTE)


class Pacer:
    """Called with each chunk's size once it is handed on; returns when the
    next may go. Raises JobCancelled as soon as the job is cancelled."""

    def __init__(self, megabits_per_second: int, cancel: CancelToken,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.bytes_per_second = megabits_per_second * BITS_PER_MEGABIT / 8
        self.cancel = cancel
        self.clock = clock
        self.started = clock()
        self.sent = 0

    def __call__(self, count: int) -> None:
        self.cancel.raise_if_cancelled()
        if not self.bytes_per_second:
            return
        self.sent += count
        delay = self.started + self.sent / self.bytes_per_second - self.clock()
        if delay > 0 and self.cancel.wait(delay):
            raise JobCancelled("the job was cancelled")
