"""Backend-neutral models: the server's configuration and a hypervisor host,
its VMs and their resources, in hypervisor terms rather than CIM terms."""

from cimprovider.schemas.base import SchemaModel, describe_validation_error, validation_message
from cimprovider.schemas.config import ConfigError, ServerConfig, load_config, parse_config

__all__ = [
    "ConfigError",
    "SchemaModel",
    "ServerConfig",
    "describe_validation_error",
    "load_config",
    "parse_config",
    "validation_message",
]
