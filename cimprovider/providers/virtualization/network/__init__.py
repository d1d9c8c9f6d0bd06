"""Virtual networking: switches, their ports, port allocations and features."""
