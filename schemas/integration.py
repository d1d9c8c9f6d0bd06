"""Integration services (Hyper-V's integration components) and the key-value
pairs exchanged with the guest."""

from __future__ import annotations

from enum import Enum

from pydantic import Field, field_validator

from cimprovider.schemas.base import SchemaModel

KVP_DATA_LIMIT = 1024  # characters; Hyper-V refuses longer values with 32773
KVP_NAME_LIMIT = 256
# Host-written items one VM keeps: each is stored with the VM and copied
# into every read of it, so a client cannot grow one record without end.
KVP_ITEMS_PER_VM = 1024


class IntegrationServiceKind(str, Enum):
    SHUTDOWN = "shutdown"
    HEARTBEAT = "heartbeat"
    KVP_EXCHANGE = "kvp_exchange"
    TIME_SYNC = "time_sync"
    VSS = "vss"
    GUEST_SERVICES = "guest_services"


class IntegrationServiceState(str, Enum):
    OK = "ok"
    DEGRADED = "degraded"
    NO_CONTACT = "no_contact"
    LOST_COMMUNICATION = "lost_communication"
    PAUSED = "paused"


class KvpSource(str, Enum):
    HOST = "host"  # written by the host, visible to the guest
    GUEST = "guest"  # written by the guest
    INTRINSIC = "intrinsic"  # reported by the guest's integration services
    HOST_ONLY = "host_only"  # kept by the host, not sent to the guest


HOST_WRITABLE_SOURCES = frozenset({KvpSource.HOST, KvpSource.HOST_ONLY})

INTRINSIC_KVP_NAMES = ("FullyQualifiedDomainName", "OSName", "OSVersion", "NetworkAddressIPv4")


class KvpItem(SchemaModel):
    name: str = Field(min_length=1, max_length=KVP_NAME_LIMIT)
    data: str = Field(default="", max_length=KVP_DATA_LIMIT)
    source: KvpSource = KvpSource.HOST

    @field_validator("name")
    @classmethod
    def _printable_name(cls, value: str) -> str:
        if any(ord(char) < 32 for char in value):
            raise ValueError("must not contain control characters")
        return value
