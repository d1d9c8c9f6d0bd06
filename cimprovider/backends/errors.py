"""What a backend raises. The CIM side maps each to Hyper-V's answer:
InvalidStateError → 32775, InvalidParameterError → 32773,
NotFoundError → 32779 / CIM_ERR_NOT_FOUND, InUseError → 32774,
HypervisorUnreachableError → 32777 (system not available) / a CIM error
saying so, anything else → 32768 (failed)."""

from __future__ import annotations

from pydantic import ValidationError

from cimprovider.schemas.base import describe_validation_error


class BackendError(Exception):
    """A backend failure without a more precise kind (32768)."""


class InvalidStateError(BackendError):
    """The request does not fit the VM's power state, or a transition is in flight."""


class HeldError(InvalidStateError):
    """The VM is held while it migrates: every change is refused; the
    message says why and until when."""


class InvalidParameterError(BackendError):
    """A value was refused; `field` names it (`memory.startup_mb`)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.reason = message

    @classmethod
    def from_validation(cls, error: ValidationError, prefix: str = "") -> "InvalidParameterError":
        problems = describe_validation_error(error)
        field, message = problems[0] if problems else ("(value)", str(error))
        if len(problems) > 1:
            message += "; " + "; ".join(f"{f}: {m}" for f, m in problems[1:])
        return cls(f"{prefix}{field}" if prefix else field, message)


class NotFoundError(BackendError, LookupError):
    """No such VM, device, switch or KVP item."""


class InUseError(BackendError):
    """The thing is taken: a slot occupied, a controller with drives on it."""


class HypervisorUnreachableError(BackendError):
    """The hypervisor does not answer (its daemon is down, its connection
    lost): nothing can be read or changed until it is back. Not "not found":
    the VMs are still there, we cannot see them."""


class UnknownBackendError(LookupError):
    """`load_backend` was given a name no installed backend answers to."""
