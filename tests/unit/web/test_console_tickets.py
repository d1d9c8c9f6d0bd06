"""Console tickets: good once, for the session, VM and console they name, for a minute."""

from __future__ import annotations

from uuid import uuid4

from cimprovider.web.vm_console.tickets import ConsoleTickets


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_ticket_is_good_once_for_what_it_names() -> None:
    clock = Clock()
    tickets = ConsoleTickets(clock)
    vm, other_vm = uuid4(), uuid4()
    ticket = tickets.issue(b"alice-session", vm, "serial")
    assert not tickets.redeem(ticket, b"bob-session", vm, "serial")
    assert not tickets.redeem(ticket, b"alice-session", other_vm, "serial")
    assert not tickets.redeem(ticket, b"alice-session", vm, "graphics")
    assert tickets.redeem(ticket, b"alice-session", vm, "serial")
    assert not tickets.redeem(ticket, b"alice-session", vm, "serial")


def test_a_ticket_expires_and_forgeries_fail() -> None:
    clock = Clock()
    tickets = ConsoleTickets(clock)
    vm = uuid4()
    ticket = tickets.issue(b"s", vm, "serial")
    clock.now += 60
    assert not tickets.redeem(ticket, b"s", vm, "serial")
    fresh = tickets.issue(b"s", vm, "serial")
    tampered = fresh[:-2] + ("AA" if fresh[-2:] != "AA" else "BB")
    assert not tickets.redeem(tampered, b"s", vm, "serial")
    assert not tickets.redeem("", b"s", vm, "serial")
    assert not tickets.redeem("not base64 !!", b"s", vm, "serial")
    # Another server process (a restart) has another secret.
    assert not ConsoleTickets(clock).redeem(fresh, b"s", vm, "serial")
    assert tickets.redeem(fresh, b"s", vm, "serial")
