"""Backend errors as Hyper-V answers them: method return codes and job
ErrorCode/ErrorDescription (msvm-v2.md §3)."""

from __future__ import annotations

from pydantic import ValidationError

from cimprovider.backends.errors import (
    BackendError,
    HypervisorUnreachableError,
    InUseError,
    InvalidParameterError,
    InvalidStateError,
    NotFoundError,
)
from cimprovider.database import disk_full_message
from cimprovider.jobs import FAILED
from cimprovider.schemas.base import validation_message

COMPLETED = 0
JOB_STARTED = 4096
NOT_SUPPORTED = 32770
INVALID_PARAMETER = 32773
IN_USE = 32774
INVALID_STATE = 32775
SYSTEM_NOT_AVAILABLE = 32777
NOT_FOUND = 32779

# Msvm_ConcreteJob.RequestStateChange (CIM_ConcreteJob's ValueMap)
JOB_INVALID_STATE_TRANSITION = 4097


class MethodFailure(Exception):
    """A failure to report with a Hyper-V code; raised by the mapping code,
    turned into a return code or a failed job by the method provider."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def invalid_parameter(name: str, message: str) -> MethodFailure:
    return MethodFailure(INVALID_PARAMETER, f"{name}: {message}")


def hyperv_code(error: BaseException) -> tuple[int, str]:
    """(code, description) for anything a method or job may raise."""
    if isinstance(error, MethodFailure):
        return error.code, error.message
    if isinstance(error, HypervisorUnreachableError):
        return SYSTEM_NOT_AVAILABLE, str(error)
    full = disk_full_message(error)
    if full is not None:
        return FAILED, full
    if isinstance(error, InvalidStateError):
        return INVALID_STATE, str(error)
    if isinstance(error, InvalidParameterError):
        return INVALID_PARAMETER, str(error)
    if isinstance(error, ValidationError):
        return INVALID_PARAMETER, validation_message(error)
    if isinstance(error, InUseError):
        return IN_USE, str(error)
    if isinstance(error, NotFoundError):
        return NOT_FOUND, str(error)
    if isinstance(error, BackendError):
        return FAILED, str(error)
    return FAILED, str(error) or type(error).__name__
