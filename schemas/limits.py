"""The server's connection limits: how long a client may take to send a
request, how many connections may be open, how large a request head may
be. A client that trickles a request a byte at a time, or opens thousands
of connections, must not hold the server's file descriptors or fill its
log; an honest client never comes near these figures."""

from __future__ import annotations

from pydantic import Field, ValidationInfo, field_validator

from cimprovider.schemas.base import SchemaModel


class ConnectionLimitSettings(SchemaModel):
    # From the moment a connection is ready for a request until its
    # headers are complete.
    header_timeout_seconds: float = Field(default=10.0, gt=0, le=3600)
    # How long a kept-alive connection may sit idle between requests (no
    # byte of the next one yet). Longer than the header deadline: a client
    # busy with the last answer must not find its connection closed under
    # its next request; the header deadline runs once that request starts.
    keep_alive_seconds: float = Field(default=60.0, gt=0, le=3600)
    # From the end of the headers until the end of the body, plus one
    # second for every `body_min_bytes_per_second` bytes received: a large
    # body on a slow but steady link still arrives.
    body_timeout_seconds: float = Field(default=60.0, gt=0, le=3600)
    body_min_bytes_per_second: int = Field(default=1024, ge=1)
    # Open connections, HTTP and HTTPS together, and from one client
    # address. Over either, a connection is answered 503 and closed.
    max_connections: int = Field(default=1024, ge=1, le=1_000_000)
    max_connections_per_client: int = Field(default=256, ge=1, le=1_000_000)
    # The request line and headers together; beyond it, 431.
    max_header_bytes: int = Field(default=32 * 1024, ge=1024, le=16 * 1024 * 1024)

    @field_validator("max_connections_per_client", mode="after")
    @classmethod
    def _within_the_total(cls, value: int, info: ValidationInfo) -> int:
        total = info.data.get("max_connections")
        if total is not None and value > total:
            raise ValueError(f"{value} is more than max_connections ({total})")
        return value
