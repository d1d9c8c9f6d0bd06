"""cimprovider: a WBEM server for the Hyper-V WMI v2 model."""

__version__ = "0.1.0"
