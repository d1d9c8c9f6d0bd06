"""The process's log: one format on stderr, and repeated lines summarised.

A flood of hostile connections makes one warning each (refused, timed
out, invalid request); written out, hundreds of thousands of identical
lines a minute bury everything else and fill the disk. The first few of a
kind pass in each window; the rest are counted and reported in one line,
"N similar messages suppressed", when the window closes. Lines below
WARNING are left alone: their volume is what the chosen level asks for
(an access line per request at DEBUG)."""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
BURST = 10
WINDOW_SECONDS = 60.0
# Messages formatted before logging (f-strings) never repeat exactly; past
# this many kinds in one window, new kinds are let through uncounted.
MAX_KINDS = 1000
_SUMMARY = "_cimprovider_summary"

Kind = tuple[str, int, str]  # logger, level, format string: "similar" messages


@dataclass
class _Window:
    opened: float
    passed: int = 0
    suppressed: int = 0
    last: logging.LogRecord | None = None


class RepeatFilter(logging.Filter):
    """A handler's filter: lets the first `burst` records of a kind (at
    `level` or above) through in each `window` seconds, and writes one
    summary line for the rest."""

    def __init__(
        self,
        handler: logging.Handler,
        burst: int = BURST,
        window: float = WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        level: int = logging.WARNING,
    ) -> None:
        super().__init__()
        self.level = level
        self.handler = handler
        self.burst = burst
        self.window = window
        self.clock = clock
        self.windows: dict[Kind, _Window] = {}
        self.lock = threading.Lock()
        self.timer: threading.Timer | None = None

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < self.level or getattr(record, _SUMMARY, False):
            return True
        kind = (record.name, record.levelno, str(record.msg))
        now = self.clock()
        summary = None
        with self.lock:
            window = self.windows.get(kind)
            if window is not None and now - window.opened >= self.window:
                summary = self._close(kind)
                window = None
            if window is None:
                if len(self.windows) >= MAX_KINDS:
                    allowed = True
                else:
                    window = self.windows[kind] = _Window(now)
            if window is not None:
                allowed = window.passed < self.burst
                if allowed:
                    window.passed += 1
                else:
                    window.suppressed += 1
                    window.last = record
                    self._arm_timer()
        if summary is not None:
            self.handler.handle(summary)
        return allowed

    def flush(self) -> None:
        """Write the summaries of every open window (at exit)."""
        self.close_timer()
        self._write_summaries(lambda window: True)

    def _write_due(self) -> None:
        now = self.clock()
        self._write_summaries(lambda window: now - window.opened >= self.window)

    def _write_summaries(self, due: Callable[[_Window], bool]) -> None:
        with self.lock:
            self.timer = None
            summaries = [self._close(kind) for kind, window in list(self.windows.items()) if due(window)]
            if any(window.suppressed for window in self.windows.values()):
                self._arm_timer()
        for summary in summaries:
            if summary is not None:
                self.handler.handle(summary)

    def _close(self, kind: Kind) -> logging.LogRecord | None:
        window = self.windows.pop(kind)
        if not window.suppressed or window.last is None:
            return None
        last = window.last
        summary = logging.makeLogRecord(
            {
                "name": last.name,
                "levelno": last.levelno,
                "levelname": last.levelname,
                "msg": "%d similar messages suppressed in %g s; the last: %s",
                "args": (window.suppressed, self.window, last.getMessage()),
                _SUMMARY: True,
            }
        )
        return summary

    def _arm_timer(self) -> None:
        # Called with the lock held. One timer at a time, so that a flood
        # which stops still gets its summary without a further message.
        if self.timer is None:
            self.timer = threading.Timer(self.window, self._write_due)
            self.timer.daemon = True
            self.timer.start()

    def close_timer(self) -> None:
        with self.lock:
            if self.timer is not None:
                self.timer.cancel()
                self.timer = None


def configure_logging(level: str) -> RepeatFilter:
    """Log to stderr at `level`, repeats summarised; the caller flushes the
    returned filter at exit so no count is lost."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(FORMAT))
    repeats = RepeatFilter(handler)
    handler.addFilter(repeats)
    root = logging.getLogger()
    for earlier in [h for h in root.handlers if any(isinstance(f, RepeatFilter) for f in h.filters)]:
        root.removeHandler(earlier)  # configured twice in one process: one line per record still
    root.addHandler(handler)
    root.setLevel(level)
    return repeats
