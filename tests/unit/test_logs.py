from __future__ import annotations

import logging
import time

from cimprovider.logs import RepeatFilter, configure_logging


class Captured(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def logger_with_filter(name: str, clock, burst: int = 3, window: float = 60) -> tuple[logging.Logger, Captured, RepeatFilter]:
    handler = Captured()
    repeats = RepeatFilter(handler, burst=burst, window=window, clock=clock)
    handler.addFilter(repeats)
    logger = logging.getLogger(name)
    logger.handlers = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger, handler, repeats


def test_a_flood_of_one_message_is_summarised_when_its_window_closes():
    clock = Clock()
    logger, captured, repeats = logger_with_filter("test.logs.flood", clock)
    for n in range(100):
        logger.warning("refused connection from %s", f"10.0.0.{n}")
    assert captured.lines == [f"refused connection from 10.0.0.{n}" for n in range(3)]
    clock.now += 61
    logger.warning("refused connection from %s", "10.0.0.200")
    repeats.close_timer()
    assert captured.lines[3:] == [
        "97 similar messages suppressed in 60 s; the last: refused connection from 10.0.0.99",
        "refused connection from 10.0.0.200",
    ]


def test_other_messages_pass_during_a_flood():
    logger, captured, repeats = logger_with_filter("test.logs.others", Clock(), burst=1)
    for _ in range(10):
        logger.warning("refused connection from %s", "x")
    logger.warning("disk %s is full", "/var")
    logging.getLogger("test.logs.others.child").propagate = True
    logging.getLogger("test.logs.others.child").warning("refused connection from %s", "x")
    repeats.close_timer()
    assert captured.lines == ["refused connection from x", "disk /var is full", "refused connection from x"]


def test_flush_writes_every_pending_count():
    logger, captured, repeats = logger_with_filter("test.logs.flush", Clock(), burst=1)
    for _ in range(5):
        logger.warning("a %d", 1)
    logger.info("quiet")
    repeats.flush()
    assert captured.lines == ["a 1", "quiet", "4 similar messages suppressed in 60 s; the last: a 1"]
    repeats.flush()
    assert len(captured.lines) == 3  # counted once


def test_a_flood_that_stops_is_still_summarised():
    logger, captured, repeats = logger_with_filter("test.logs.timer", time.monotonic, burst=1, window=0.2)
    for _ in range(5):
        logger.warning("refused %s", "x")
    deadline = time.monotonic() + 60
    while len(captured.lines) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    repeats.close_timer()
    assert captured.lines == ["refused x", "4 similar messages suppressed in 0.2 s; the last: refused x"]


def test_lines_below_warning_are_never_suppressed():
    logger, captured, repeats = logger_with_filter("test.logs.access", Clock(), burst=1)
    for n in range(20):
        logger.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1", "POST", "/cimom", "1.1", 200 + n)
    repeats.flush()
    assert len(captured.lines) == 20


def test_configuring_twice_writes_each_line_once(capsys):
    root = logging.getLogger()
    before = list(root.handlers), root.level
    try:
        configure_logging("INFO")
        configure_logging("INFO")
        logging.getLogger("test.logs.twice").warning("once")
    finally:
        root.handlers[:] = before[0]
        root.setLevel(before[1])
    assert capsys.readouterr().err.count("once") == 1
