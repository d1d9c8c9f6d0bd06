"""Virtual networking: the host's physical adapters a switch can bind to,
and the features of a switch port (VLAN, security, bandwidth), which live
on the VM's network adapter so they travel and persist with it."""

from __future__ import annotations

from enum import Enum
from typing import Annotated
from uuid import UUID, uuid4

from pydantic import Field, model_validator

from cimprovider.schemas.base import SchemaModel

VLAN_MIN, VLAN_MAX = 1, 4094
VlanId = Annotated[int, Field(ge=VLAN_MIN, le=VLAN_MAX)]


class HostAdapter(SchemaModel):
    """A physical (or, on the simulated host, pretended) network adapter."""

    name: str = Field(min_length=1, max_length=64)
    mac_address: str = Field(pattern=r"^[0-9A-F]{12}$")
    description: str = ""
    speed_bps: int = Field(default=1_000_000_000, ge=0)
    connected: bool = True


class VlanMode(str, Enum):
    ACCESS = "access"
    TRUNK = "trunk"


class PortVlan(SchemaModel):
    """Access: untagged traffic belongs to `access_vlan`. Trunk: the port
    carries the tagged `trunk_vlans`, untagged traffic on `native_vlan`."""

    id: UUID = Field(default_factory=uuid4)
    mode: VlanMode = VlanMode.ACCESS
    access_vlan: VlanId | None = None
    native_vlan: VlanId | None = None
    trunk_vlans: tuple[VlanId, ...] = ()

    @model_validator(mode="after")
    def _complete(self) -> "PortVlan":
        if self.mode is VlanMode.ACCESS and self.access_vlan is None:
            raise ValueError("access_vlan: an access port needs a VLAN id from 1 to 4094")
        if self.mode is VlanMode.TRUNK and not self.trunk_vlans:
            raise ValueError("trunk_vlans: a trunk port needs at least one VLAN id")
        return self


class PortSecurity(SchemaModel):
    id: UUID = Field(default_factory=uuid4)
    allow_mac_spoofing: bool = False
    dhcp_guard: bool = False
    router_guard: bool = False


class PortBandwidth(SchemaModel):
    """Bits per second; 0 means no limit / no reservation."""

    id: UUID = Field(default_factory=uuid4)
    limit_bps: int = Field(default=0, ge=0)
    reservation_bps: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _reservation_within_limit(self) -> "PortBandwidth":
        if self.limit_bps and self.reservation_bps > self.limit_bps:
            raise ValueError("reservation_bps: must not exceed limit_bps")
        return self


class SwitchBandwidth(SchemaModel):
    """The switch's default flow: what ports without a reservation share."""

    id: UUID = Field(default_factory=uuid4)
    default_flow_reservation_bps: int = Field(default=0, ge=0)
    default_flow_weight: int = Field(default=0, ge=0, le=100)
