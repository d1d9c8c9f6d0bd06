"""What the migration family asks of the host's migration engine, which
the server hands it (the providers do not build it). Failures carry
`reasons`, a list of sentences naming what is at fault."""

from __future__ import annotations

from typing import Protocol
from uuid import UUID

from cimprovider.jobs import CancelToken, ProgressReporter
from cimprovider.schemas.migration import MigrationRequest


class MigrationEngine(Protocol):
    def active(self) -> int: ...

    def active_storage(self) -> int: ...

    def check(self, request: MigrationRequest) -> list[str]: ...

    def stray_address(self, request: MigrationRequest) -> str | None:
        """Why DestinationIPAddressList names an address that is not the
        destination's own (its credentials would go there); None if all are."""
        ...

    def migrate(self, request: MigrationRequest, progress: ProgressReporter, cancel: CancelToken) -> None: ...

    def prepare_incoming(self, offer_json: str, check_only: bool) -> str | None: ...

    def hypervisor_uri(self) -> str | None:
        """Where a source's hypervisor reaches this host's (None: files are uploaded)."""
        ...

    def commit_incoming(self, token: str) -> None: ...

    def abort_incoming(self, token: str | None, vm_id: UUID | None) -> None: ...

    def arrival_state(self, vm_id: UUID) -> int:
        """0 absent, 1 still arriving (ask again later), 2 this host's."""
        ...


def reasons_of(error: BaseException) -> list[str]:
    reasons = getattr(error, "reasons", None)
    return list(reasons) if reasons else [str(error) or type(error).__name__]
