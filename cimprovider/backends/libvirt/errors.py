"""libvirt's errors in the protocol's terms, so the CIM side answers as
Hyper-V would: what the hypervisor cannot do in the VM's current state (a
hot-plug QEMU does not support, a call the driver lacks) is 32775."""

from __future__ import annotations

from typing import Protocol

import libvirt

from cimprovider.backends.errors import (
    BackendError,
    HypervisorUnreachableError,
    InvalidParameterError,
    InvalidStateError,
    NotFoundError,
)

NOT_NOW = frozenset(
    {
        libvirt.VIR_ERR_NO_SUPPORT,
        libvirt.VIR_ERR_OPERATION_UNSUPPORTED,
        libvirt.VIR_ERR_OPERATION_INVALID,
        libvirt.VIR_ERR_ARGUMENT_UNSUPPORTED,
        libvirt.VIR_ERR_OPERATION_DENIED,
    }
)
REFUSED = frozenset({libvirt.VIR_ERR_XML_ERROR, libvirt.VIR_ERR_XML_DETAIL, libvirt.VIR_ERR_CONFIG_UNSUPPORTED, libvirt.VIR_ERR_INVALID_ARG})
MISSING = frozenset({libvirt.VIR_ERR_NO_DOMAIN, libvirt.VIR_ERR_NO_NETWORK})


class ConnectionWatcher(Protocol):
    uri: str

    @property
    def connected(self) -> bool: ...

    def check_error(self, error: libvirt.libvirtError) -> None: ...


def translate(error: libvirt.libvirtError, what: str, connection: ConnectionWatcher | None = None) -> BackendError:
    if connection is not None:
        connection.check_error(error)
        if not connection.connected:
            # The call failed because libvirt went away under it.
            return HypervisorUnreachableError(
                f"the hypervisor is unreachable: cannot {what}: lost the connection to {connection.uri}"
                f" ({error.get_error_message()}); reconnecting"
            )
    code = error.get_error_code()
    message = f"cannot {what}: {error.get_error_message()}"
    if code in MISSING:
        return NotFoundError(message)
    if code in NOT_NOW:
        return InvalidStateError(message)
    if code in REFUSED:
        return InvalidParameterError("(value)", message)
    return BackendError(message)
