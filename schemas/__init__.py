"""Backend-neutral models: the server's configuration and a hypervisor host,
its VMs and their resources, in hypervisor terms rather than CIM terms.

Validation errors are pydantic `ValidationError`s whose locations name the
field; `validation_message` renders them for a client.
"""

from cimprovider.schemas.base import SchemaModel, describe_validation_error, validation_message
from cimprovider.schemas.config import ConfigError, ServerConfig, load_config, parse_config
from cimprovider.schemas.devices import (
    IDE_CONTROLLERS,
    IDE_SLOTS,
    MEMORY_ID,
    PROCESSOR_ID,
    SCSI_CONTROLLERS,
    SCSI_SLOTS,
    AdapterType,
    Controller,
    ControllerType,
    Device,
    DeviceKind,
    Drive,
    DriveType,
    INTEGRATION_SERVICE_IDS,
    IntegrationService,
    Media,
    MemorySettings,
    NetworkAdapter,
    ProcessorSettings,
    SerialPort,
)
from cimprovider.schemas.events import (
    DeviceAdded,
    DeviceModified,
    DeviceRemoved,
    Event,
    EventBase,
    JobChange,
    JobChanged,
    KvpChange,
    KvpChanged,
    PowerStateChanged,
    SwitchDefined,
    SwitchDestroyed,
    SwitchModified,
    VmDefined,
    VmDestroyed,
    VmModified,
)
from cimprovider.schemas.host import Host, SwitchType, VirtualSwitch
from cimprovider.schemas.network import HostAdapter, PortBandwidth, PortSecurity, PortVlan, SwitchBandwidth, VlanMode
from cimprovider.schemas.integration import (
    INTRINSIC_KVP_NAMES,
    KVP_DATA_LIMIT,
    IntegrationServiceKind,
    IntegrationServiceState,
    KvpItem,
    KvpSource,
)
from cimprovider.schemas.jobs import FINISHED_JOB_STATES, JobState, JobStatus
from cimprovider.schemas.power import STABLE_STATES, TRANSITIONAL_STATES, PowerRequest, PowerState
from cimprovider.schemas.runtime import HeartbeatState, RuntimeFigures
from cimprovider.schemas.vm import (
    AutomaticStartAction,
    AutomaticStopAction,
    BootDevice,
    SnapshotType,
    SystemSettings,
    VirtualMachine,
)

__all__ = [name for name in dir() if not name.startswith("_")]
