"""Hypervisor backends: the `Backend` protocol, its errors and shared rules
(power transitions, hot-plug), and loading a backend by name."""

from cimprovider.backends.errors import (
    BackendError,
    HypervisorUnreachableError,
    InUseError,
    InvalidParameterError,
    InvalidStateError,
    NotFoundError,
    UnknownBackendError,
)
from cimprovider.backends.hotplug import HOT_PLUG_RULES, Change
from cimprovider.backends.loading import available_backends, load_backend
from cimprovider.backends.protocol import (
    Backend,
    GuestDisplay,
    HealthReporting,
    HypervisorMigration,
    LiveDiskCopy,
    MigrationBackend,
    NetworkBackend,
    PowerTransition,
    ProgressCallback,
    SnapshotBackend,
    StatisticsBackend,
    UnfinishedSnapshots,
    change_power_state,
)
from cimprovider.backends.transitions import POWER_TRANSITIONS, TransitionPath, plan_transition

__all__ = [
    "HOT_PLUG_RULES",
    "POWER_TRANSITIONS",
    "Backend",
    "BackendError",
    "Change",
    "GuestDisplay",
    "HealthReporting",
    "HypervisorMigration",
    "LiveDiskCopy",
    "HypervisorUnreachableError",
    "MigrationBackend",
    "StatisticsBackend",
    "InUseError",
    "InvalidParameterError",
    "InvalidStateError",
    "NetworkBackend",
    "NotFoundError",
    "PowerTransition",
    "ProgressCallback",
    "SnapshotBackend",
    "UnfinishedSnapshots",
    "TransitionPath",
    "UnknownBackendError",
    "available_backends",
    "change_power_state",
    "load_backend",
    "plan_transition",
]
