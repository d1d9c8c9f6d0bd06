"""Migration between hosts, on the CIM side (see registration)."""
