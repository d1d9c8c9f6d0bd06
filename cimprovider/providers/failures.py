"""Failures every provider may meet that have one answer on the wire,
whatever the operation: the engine asks here before calling anything else
an internal error."""

from __future__ import annotations

from pywbem import CIM_ERR_FAILED, CIMError

from cimprovider.backends.errors import HypervisorUnreachableError


def cim_error_for(error: BaseException) -> CIMError | None:
    """The CIM error that says what happened, or None for a real fault.

    An unreachable hypervisor is the host's condition, not a bug: the
    client is told so (its description begins "the hypervisor is
    unreachable"), not "internal error" and not "not found"."""
    if isinstance(error, HypervisorUnreachableError):
        return CIMError(CIM_ERR_FAILED, str(error))
    return None
