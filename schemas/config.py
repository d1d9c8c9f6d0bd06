"""The server's configuration: one model, loadable from a TOML file.

Keys are flat at the top level of the file (`port = 5988`), the same names as
the `serve` command's options, so a file and a command line read alike.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, IPvAnyNetwork, ValidationError, ValidationInfo, field_validator

from cimprovider.schemas.base import describe_validation_error
from cimprovider.schemas.devices import PCI_ADDRESS
from cimprovider.schemas.limits import ConnectionLimitSettings

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
LibvirtDomainType = Literal["kvm", "qemu"]


def default_libvirt_domain_type() -> LibvirtDomainType:
    """KVM where this machine can use it, else QEMU's emulator (TCG)."""
    return "kvm" if os.access("/dev/kvm", os.R_OK | os.W_OK) else "qemu"


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "cimprovider"


class ConfigError(ValueError):
    """A configuration file that cannot be used; `key` names the offending
    key (None when the file itself is unreadable)."""

    def __init__(self, message: str, key: str | None = None, problems: list[tuple[str, str]] | None = None) -> None:
        super().__init__(message)
        self.key = key
        # Each offending key with what is wrong with it.
        self.problems = problems or []


class ServerConfig(ConnectionLimitSettings):
    """Every setting of the server; the connection limits are declared
    in schemas/limits.py, the rest here."""

    host: str = "127.0.0.1"
    port: int = Field(default=5988, ge=0, le=65535)
    # HTTPS is off unless a port is given; it then needs a certificate and key.
    https_port: int | None = Field(default=None, ge=0, le=65535)
    # Serve HTTPS only: no plain HTTP port at all (needs https_port).
    no_http: bool = False
    certfile: Path | None = Field(default=None, validate_default=True)
    keyfile: Path | None = Field(default=None, validate_default=True)
    data_dir: Path = Field(default_factory=default_data_dir)
    # Where the compiled schema (the shipped MOF's classes, the same for
    # every server of one installation) is kept, so that a server on a new
    # data directory loads it rather than compiling the MOF again; None
    # means $XDG_CACHE_HOME/cimprovider (~/.cache/cimprovider).
    class_cache_dir: Path | None = None
    # None: `<data_dir>/users.json` if it exists (where `cimprovider user
    # add` writes by default), else HTTP Basic auth is off (local use only).
    users_file: Path | None = None
    # Failed authentications allowed per client address and per user name
    # (known or not) within auth_failure_window_seconds; beyond, 429.
    auth_failures_per_address: int = Field(default=60, ge=1, le=100_000)
    auth_failures_per_user: int = Field(default=10, ge=1, le=100_000)
    auth_failure_window_seconds: float = Field(default=60.0, gt=0, le=86_400)
    backend: str = Field(default="simulated", min_length=1)
    log_level: LogLevel = "INFO"
    # The name the host reports; None means the machine's own host name.
    host_name: str | None = None
    # Simulated backend: how long each power transition takes, so that
    # Starting/Stopping/Saving… and job progress can be observed.
    transition_seconds: float = Field(default=0.5, ge=0, le=600)
    # Hyper-V keeps finished jobs for five minutes.
    job_retention_seconds: float = Field(default=300.0, gt=0)
    job_workers: int = Field(default=4, ge=1, le=256)
    # How often the metrics sampler reads every VM's counters (one bulk
    # call per interval); health follows within one interval.
    metrics_interval_seconds: float = Field(default=15.0, ge=0.05, le=3600)
    worker_threads: int = Field(default=16, ge=1, le=1024)
    max_request_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    # Memory for kept reply XML (enumerations answered from bytes kept
    # until the model changes); 0 keeps nothing and builds every reply.
    reply_cache_megabytes: int = Field(default=64, ge=0, le=65536)
    libvirt_uri: str = Field(default="qemu:///system", min_length=1)
    # The libvirt URI a migration's source host reaches this host's
    # hypervisor at (peer to peer, from the source's libvirtd); by default
    # libvirt_uri, which suits only a source on this machine.
    libvirt_migration_uri: str | None = None
    # Where this host's libvirtd keeps saved VMs' memory (its managed save
    # files, `<domain name>.save`): a saved VM's image moves from there.
    libvirt_save_dir: Path = Path("/var/lib/libvirt/qemu/save")
    # The domain type of VMs the libvirt backend defines. Given explicitly,
    # libvirt must offer it; by default the backend falls back to what the
    # host offers (a remote host may lack KVM, the test driver has "test").
    libvirt_domain_type: LibvirtDomainType = Field(default_factory=default_libvirt_domain_type)
    # How long a guest gets to power off after a shutdown request before
    # the request fails (Hyper-V's job then reports the failure).
    shutdown_timeout_seconds: float = Field(default=120.0, gt=0, le=3600)
    # Where virtual hard disk files may be created, read and changed; every
    # path a client names must lie inside one of them. Empty means
    # `<data_dir>/storage`.
    storage_roots: list[Path] = Field(default_factory=list, validate_default=True)
    # A storage root with less free space than this is full: the host and
    # the running VMs whose disks live there read degraded (an alert says
    # so) until space is freed.
    storage_minimum_free_mb: int = Field(default=1024, ge=0)
    # Files and folders outside the storage roots and the data directory
    # that a KVM migration offer's definition may name for a kernel,
    # initrd, firmware or variable store, or the file, pipe, device or
    # socket behind a serial port or console (a VM defined elsewhere that
    # boots its own kernel or logs its console to a file).
    migration_host_paths: list[Path] = Field(default_factory=list)
    # Host block devices (or, for tests, files) an admin hands to VMs whole
    # as pass-through disks; no other device node is ever given to a guest.
    passthrough_disks: list[Path] = Field(default_factory=list)
    # Host PCI devices (domain:bus:slot.function) an admin lets VMs be given
    # whole (Hyper-V's Discrete Device Assignment); no other is offered.
    pci_passthrough_devices: list[str] = Field(default_factory=list)
    # Open pull enumeration contexts: in all, and per principal (a user, or
    # a client address when authentication is off), so that one client
    # cannot take every context and lock the others out of pull operations.
    max_pull_contexts: int = Field(default=256, ge=1, le=100_000)
    max_pull_contexts_per_principal: int = Field(default=64, ge=1, le=100_000)
    # Networks listener destinations may be on; empty means loopback only,
    # so an admin cannot make the server a client of any host it reaches.
    listener_allow: list[IPvAnyNetwork] = Field(default_factory=list)
    # https listeners: trust only this CA file's certificates (else the
    # system's), or, with listener_no_verify, check none.
    listener_ca_file: Path | None = None
    listener_no_verify: bool = False
    # Migration: the peers file (TOML: each peer host's URL and the
    # credentials this server uses there), whether VMs may move in or out,
    # and how many may move at once (Hyper-V's defaults: 2 and 2).
    peers_file: Path | None = None
    migration_enabled: bool = True
    max_active_migrations: int = Field(default=2, ge=1, le=1024)
    max_active_storage_migrations: int = Field(default=2, ge=1, le=1024)
    # An incoming migration whose source stops sending (it died, or lost
    # the network) is dropped, with every file it brought, after this long
    # without a byte or a call from it.
    incoming_migration_expiry_seconds: float = Field(default=600, gt=0, le=86400)

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_case_level(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("data_dir", "certfile", "keyfile", "users_file", "listener_ca_file", "peers_file", mode="after")
    @classmethod
    def _expand_user(cls, value: Path | None) -> Path | None:
        return value.expanduser() if value is not None else None

    @field_validator("storage_roots", mode="after")
    @classmethod
    def _expand_roots(cls, value: list[Path], info: ValidationInfo) -> list[Path]:
        if not value:
            data_dir = info.data.get("data_dir") or default_data_dir()
            return [Path(data_dir) / "storage"]
        return [root.expanduser() for root in value]

    @field_validator("pci_passthrough_devices", mode="after")
    @classmethod
    def _pci_addresses(cls, value: list[str]) -> list[str]:
        addresses = [address.strip().lower() for address in value]
        for address in addresses:
            if not re.match(PCI_ADDRESS, address):
                raise ValueError(f"{address!r} is not a PCI address (domain:bus:slot.function, as 0000:03:00.0)")
        return addresses

    @field_validator("passthrough_disks", mode="after")
    @classmethod
    def _absolute_disks(cls, value: list[Path]) -> list[Path]:
        # A relative entry would name a different device depending on where
        # the server was started.
        for disk in value:
            if not disk.expanduser().is_absolute():
                raise ValueError(f"{disk} is not an absolute path")
        return [disk.expanduser() for disk in value]

    @field_validator("max_pull_contexts_per_principal", mode="after")
    @classmethod
    def _share_within_total(cls, value: int, info: ValidationInfo) -> int:
        total = info.data.get("max_pull_contexts")
        if total is not None and value > total:
            raise ValueError(f"{value} is more than max_pull_contexts ({total})")
        return value

    @field_validator("listener_allow", mode="before")
    @classmethod
    def _networks(cls, value: Any) -> Any:
        # ipaddress says what is wrong ("has host bits set"); pydantic would not.
        if not isinstance(value, list):
            return value
        networks = []
        for item in value:
            try:
                networks.append(ipaddress.ip_network(item) if isinstance(item, str) else item)
            except ValueError as exc:
                raise ValueError(f"{item!r} is not a network in CIDR notation: {exc}") from None
        return networks

    @field_validator("listener_no_verify", mode="after")
    @classmethod
    def _verify_or_ca_file(cls, value: bool, info: ValidationInfo) -> bool:
        if value and info.data.get("listener_ca_file") is not None:
            raise ValueError("cannot be combined with listener_ca_file, which it would leave unused")
        return value

    @field_validator("no_http", mode="after")
    @classmethod
    def _https_for_no_http(cls, value: bool, info: ValidationInfo) -> bool:
        if value and info.data.get("https_port") is None:
            raise ValueError("needs https_port: without HTTP, HTTPS is the only way in")
        return value

    @field_validator("certfile", "keyfile", mode="after")
    @classmethod
    def _required_for_https(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        # A field validator (not a model one) so the error names this key.
        if value is None and info.data.get("https_port") is not None:
            raise ValueError("required when https_port is set")
        if value is not None and info.data.get("https_port") is None:
            # Kept and never used, it would leave the user believing HTTPS is served.
            raise ValueError("serves nothing without https_port: give the HTTPS port too (5989 by convention)")
        return value

    @property
    def default_users_file(self) -> Path:
        """Where `cimprovider user add` writes when given no --users-file."""
        return self.data_dir / "users.json"

    @property
    def database_path(self) -> Path:
        """Where the simulated backend keeps its state."""
        return self.data_dir / "simulated.sqlite3"


def parse_config(values: dict[str, Any], source: str = "configuration") -> ServerConfig:
    """Validate a mapping; the error names the key (`port`, not a pydantic path)."""
    try:
        return ServerConfig.model_validate(values)
    except ValidationError as error:
        problems = describe_validation_error(error)
        key = problems[0][0] if problems else None
        text = "; ".join(f"{field}: {message}" for field, message in problems)
        raise ConfigError(f"{source}: {text}", key=key, problems=problems) from None


def load_config(path: str | Path | None = None, **overrides: Any) -> ServerConfig:
    """Read `path` (TOML) if given, then apply `overrides` whose value is not
    None — the command line wins over the file."""
    values: dict[str, Any] = {}
    source = "configuration"
    if path is not None:
        source = str(path)
        try:
            with open(path, "rb") as handle:
                values = tomllib.load(handle)
        except OSError as error:
            raise ConfigError(f"{source}: cannot read: {error.strerror}") from None
        except tomllib.TOMLDecodeError as error:
            raise ConfigError(f"{source}: not valid TOML: {error}") from None
    values.update({key: value for key, value in overrides.items() if value is not None})
    return parse_config(values, source)
