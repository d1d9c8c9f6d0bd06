"""What a client reads when an operation fails with something that is not
a CIMError: a condition of the host is said as such (the hypervisor
unreachable; a full disk, naming the disk's file), anything else is an
internal error naming its type."""

from __future__ import annotations

from pywbem import CIM_ERR_FAILED, CIMError

from cimprovider.database import disk_full_message
from cimprovider.providers.failures import cim_error_for


def operation_failure(method: str, error: BaseException) -> CIMError:
    known = cim_error_for(error)
    if known is not None:
        return known
    full = disk_full_message(error)
    if full is not None:
        return CIMError(CIM_ERR_FAILED, f"{method} failed: {full}")
    return CIMError(CIM_ERR_FAILED, f"internal error in {method}: {type(error).__name__}: {error}")


def is_expected(error: BaseException) -> bool:
    """A failure of the machine rather than of the code: logged without a traceback."""
    return cim_error_for(error) is not None or disk_full_message(error) is not None
