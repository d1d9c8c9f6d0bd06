"""Admission of connections: how many are open, in all and from each
client address, and how many are lingering after a final answer. Plain
counting, no I/O: the protocol (http/protocol.py) asks here before it
serves a connection and tells here when the connection is gone. And the
process's open-file limit those connections need."""

from __future__ import annotations

import resource
from collections import Counter
from dataclasses import dataclass, field

# A refused client is told when to try again.
RETRY_AFTER_SECONDS = 5
# After a final answer (503, 408, 431…) the server stops writing and reads
# and drops what the client still sends, so the client reads the answer
# instead of a connection reset; this long at most.
LINGER_SECONDS = 2.0
# Lingering holds a descriptor too: past this many at once, close at once.
MAX_LINGERING = 256
# Descriptors besides connections: databases (one per worker thread each),
# the backend, listening sockets, the log.
RESERVED_DESCRIPTORS = 256


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    """The settings of the same names (schemas/limits.py explains them)."""

    header_timeout_seconds: float
    keep_alive_seconds: float
    body_timeout_seconds: float
    body_min_bytes_per_second: int
    max_connections: int
    max_connections_per_client: int
    max_header_bytes: int


@dataclass
class ConnectionGate:
    """One per process, shared by the HTTP and HTTPS listeners: the
    descriptors they spend come from the same table."""

    max_connections: int
    max_per_client: int
    max_lingering: int = MAX_LINGERING
    open: int = 0
    lingering: int = 0
    per_client: Counter[str] = field(default_factory=Counter)

    @classmethod
    def from_limits(cls, limits: ConnectionLimits) -> ConnectionGate:
        return cls(limits.max_connections, limits.max_connections_per_client)

    def admit(self, client: str) -> str | None:
        """Count the connection in and return None, or say why it is refused."""
        if self.open >= self.max_connections:
            return f"{self.open} connections open (max_connections {self.max_connections})"
        held = self.per_client[client]
        if held >= self.max_per_client:
            return f"{held} connections open from that address (max_connections_per_client {self.max_per_client})"
        self.open += 1
        self.per_client[client] += 1
        return None

    def release(self, client: str) -> None:
        self.open -= 1
        self.per_client[client] -= 1
        if self.per_client[client] <= 0:
            del self.per_client[client]  # addresses come and go; keep only those holding connections

    def start_lingering(self) -> bool:
        if self.lingering >= self.max_lingering:
            return False
        self.lingering += 1
        return True

    def stop_lingering(self) -> None:
        self.lingering -= 1


def fit_open_file_limit(max_connections: int) -> str | None:
    """Raise the process's soft open-file limit to what `max_connections`
    needs, as far as the hard limit allows; else say what falls short. Past
    the limit, accept() fails and every new client waits, honest or not."""
    needed = max_connections + MAX_LINGERING + RESERVED_DESCRIPTORS
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return None
    target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    if target < needed:
        return (
            f"max_connections {max_connections} needs about {needed} open files but the limit is {target}: "
            f"lower max_connections or raise the limit (ulimit -n)"
        )
    return None
