"""Waiting in tests: poll until a condition holds and fail only after a
generous deadline. A test never asserts how long something took (timings
are bench/'s business) and never sleeps hoping something has happened: on a
loaded machine the sleep is too short, on an idle one it is wasted."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from typing import IO, TypeVar

T = TypeVar("T")

DEADLINE = 60.0  # seconds: long enough for a machine under heavy load


def wait_until(condition: Callable[[], T], what: str, timeout: float = DEADLINE, interval: float = 0.02) -> T:
    """The first truthy value of `condition()`; AssertionError naming
    `what` if none came within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: still not so after {timeout:.0f} s")
        time.sleep(interval)


class PipeLines:
    """The lines of a subprocess's pipe as they arrive, read by a thread so
    a test can wait for one without blocking on the pipe."""

    def __init__(self, pipe: IO[str]) -> None:
        self.lines: list[str] = []
        self.closed = threading.Event()
        self._reader = threading.Thread(target=self._read, args=(pipe,), daemon=True)
        self._reader.start()

    def _read(self, pipe: IO[str]) -> None:
        for line in pipe:
            self.lines.append(line.rstrip("\n"))
        self.closed.set()

    def wait_for(self, pattern: str, timeout: float = DEADLINE) -> str:
        """The first line matching `pattern` (a regular expression)."""
        found = re.compile(pattern)

        def matching() -> str | None:
            hit = next((line for line in list(self.lines) if found.search(line)), None)
            if hit is None and self.closed.is_set():
                raise AssertionError(f"the pipe closed without a line matching {pattern!r}: {self.lines}")
            return hit

        return wait_until(matching, f"a line matching {pattern!r} (so far {self.lines})", timeout)

    def text(self) -> str:
        """Everything read, once the pipe has closed."""
        wait_until(self.closed.is_set, "the pipe's end")
        return "\n".join(self.lines)
