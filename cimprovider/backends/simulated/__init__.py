"""The simulated hypervisor, persisted in SQLite in the data directory."""

from cimprovider.backends.simulated.backend import SimulatedBackend

__all__ = ["SimulatedBackend"]
